"""Kept plans on the web connection (clinic/settings.py WEB_PREPARE_THRESHOLD): the statements a
connection sends often are prepared once and their plans reused, and a reused plan still applies
each caller's row-level security (the role it runs as and the verified staff id)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections, transaction

from clinic import roles
from clinic.db_context import apply_context
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")

CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]
# A statement text of this module alone, so its entry in pg_prepared_statements is ours.
VISITS = "SELECT patient_id::text FROM clinical_records /* prepared-statements test */ ORDER BY 1"


def read_as(role: str, user_id: int) -> list[tuple]:
    """VISITS in a request-like transaction that commits, as a page's does (a ROLLBACK makes
    psycopg drop every kept plan of the connection)."""
    with transaction.atomic(using="default"):
        apply_context(role, user_id)
        with connections["default"].cursor() as cursor:
            cursor.execute(VISITS)
            return cursor.fetchall()


def kept_plans() -> int | None:
    """Executions of VISITS from a plan the web connection keeps, or None when it keeps none."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement = %s",
            [VISITS],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def test_the_web_connection_keeps_plans_and_the_owner_connection_does_not():
    assert settings.WEB_PREPARE_THRESHOLD is not None
    web = settings.DATABASES["default"]["OPTIONS"]
    assert web["prepare_threshold"] == settings.WEB_PREPARE_THRESHOLD
    # Migrations and provisioning change tables under their own statements: no kept plans.
    assert settings.DATABASES["owner"]["OPTIONS"].get("prepare_threshold") is None


def test_a_statement_sent_often_is_prepared_once(staff):
    for _ in range(settings.WEB_PREPARE_THRESHOLD + 3):
        read_as(CLINICIAN, staff["clinician"].pk)
    executions = kept_plans()
    assert executions is not None, "the web connection did not keep the statement's plan"
    assert executions >= 3


def test_a_kept_plan_applies_each_callers_row_level_security(staff):
    mine = PatientFactory()
    theirs = PatientFactory()
    for clinician, patient in ((staff["clinician"], mine), (staff["clinician2"], theirs)):
        CareTeamMemberFactory(staff=clinician, patient=patient)
        ClinicalRecordFactory(patient=patient, provider=clinician)
    expected = {
        staff["clinician"].pk: [(str(mine.pk),)],
        staff["clinician2"].pk: [(str(theirs.pk),)],
    }
    # The same statement on one connection, alternating callers, long past the point where it
    # is prepared: the plan is shared, the staff id each execution verifies is not, and another
    # role's policies (a privacy officer reads visits only under an open access request: none)
    # are not the clinicians'.
    for _round in range(settings.WEB_PREPARE_THRESHOLD + 3):
        for clinician_id, rows in expected.items():
            assert read_as(CLINICIAN, clinician_id) == rows
        assert read_as(PRIVACY_OFFICER, staff["privacy"].pk) == []
    executions = kept_plans()
    assert executions is not None and executions >= 3, "the statement was never prepared"
