"""provision_db is declarative and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

# cluster_wide: provision_db (the cluster's roles) (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]


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


def test_a_stray_execute_on_a_function_is_revoked():
    """A function provisioned with its executors (clinic/provisioning.py ensure_function) keeps
    no other: a role granted EXECUTE by hand, or taken off the function's list in code, loses
    it on the next run; its own executors keep theirs."""
    signature = "clinic_schedule_version(integer)"
    with connections["owner"].cursor() as cursor:
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO clinic_analyst, clinic_web")
    output = provision()
    assert f'REVOKE EXECUTE ON FUNCTION {signature} FROM "clinic_analyst"' in output
    assert f'REVOKE EXECUTE ON FUNCTION {signature} FROM "clinic_web"' in output
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT has_function_privilege(r, %s, 'EXECUTE') FROM unnest(%s::text[]) r",
            [signature, ["clinic_analyst", "clinic_web", "clinic_front_desk", "clinic_clinician"]],
        )
        assert [row[0] for row in cursor.fetchall()] == [False, False, True, True]
    assert "nothing changed" in provision()


# Functions made with statements of their own (a DROP first, triggers, several under one mark),
# reconciled by clinic/provisioning.py revoke_other_executors: (signature, owner, executors).
RECONCILED = [
    ("access_request_demographics(uuid)", None, ["clinic_privacy_officer"]),
    ("chart_history_append()", None, []),
    (
        "analytics_visit_panels(date,date,text,integer)",
        "clinic_analytics_owner",
        ["clinic_analyst"],
    ),
    ("analytics_patient_panels()", "clinic_analytics_owner", ["clinic_analyst"]),
    ("analytics_suppress(bigint[])", "clinic_analytics_owner", []),
]
STRAYS = ["clinic_web", "clinic_front_desk", "clinic_clinician"]


@pytest.mark.parametrize(("signature", "owner", "executors"), RECONCILED)
def test_a_stray_execute_is_revoked_from_functions_made_with_their_own_statements(
    signature, owner, executors
):
    with connections["owner"].cursor() as cursor:
        if owner:
            cursor.execute(f"SET ROLE {owner}")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(STRAYS)}")
        cursor.execute("RESET ROLE")
    output = provision()
    for role in STRAYS:
        assert f'REVOKE EXECUTE ON FUNCTION {signature} FROM "{role}"' in output, role
    everyone = [*STRAYS, "clinic_privacy_officer", "clinic_analyst"]
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT r FROM unnest(%s::text[]) r WHERE has_function_privilege(r, %s, 'EXECUTE')",
            [everyone, signature],
        )
        assert sorted(row[0] for row in cursor.fetchall()) == sorted(executors)
    assert "nothing changed" in provision()
