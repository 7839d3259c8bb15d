"""provision_db is declarative and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

pytestmark = pytest.mark.usefixtures("clinic_db")


def provision() -> str:
    out = StringIO()
    call_command("provision_db", stdout=out)
    return out.getvalue()


def test_second_run_changes_nothing_and_says_so():
    provision()
    assert "already up to date; nothing changed" in provision()


def test_a_stray_grant_is_revoked_and_a_missing_one_restored():
    with connections["owner"].cursor() as cursor:
        cursor.execute("GRANT SELECT ON patient_identities TO clinic_analyst")
        cursor.execute("SET ROLE clinic_analytics_owner")  # the view's owner
        cursor.execute("REVOKE SELECT ON analytics_providers FROM clinic_analyst")
        cursor.execute("RESET ROLE")
    output = provision()
    assert 'REVOKE SELECT ON TABLE "patient_identities" FROM "clinic_analyst"' in output
    assert 'GRANT SELECT ON TABLE "analytics_providers" TO "clinic_analyst"' in output
    assert "nothing changed" in provision()


def test_a_dropped_policy_is_recreated():
    with connections["owner"].cursor() as cursor:
        cursor.execute("DROP POLICY clinician_reads_own_patients ON clinical_records")
    assert "CREATE POLICY" in provision()
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_policy WHERE polname = 'clinician_reads_own_patients'"
        )
        assert cursor.fetchone() == (1,)


def test_row_level_security_is_forced_on_clinical_records():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = 'clinical_records'"
        )
        assert cursor.fetchone() == (True, True)
