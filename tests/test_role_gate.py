"""SQL injected into one user's request cannot borrow another group's rights: the web login may
switch to any group role, but every PHI table lets a group role act only for a request whose
verified role is that group (clinic/role_gate.py). Each attack runs on the web login's
connection, after the real context statement of a signed-in request, as an injected statement
would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connections, transaction

from clinic import access_log, roles
from clinic.db_context import apply_context
from clinic.staff import database_role_for
from patients.models import PatientIdentity
from records.models import BreakGlassGrant
from tests.factories import (
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    DisclosureFactory,
    PatientFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")
ROLE = roles.GROUP_ROLES
PHI_TABLES = ("patient_identities", "clinical_records", "care_team", "disclosures", "access_log")


@pytest.fixture
def clinic(staff):
    """A patient on clinician 1's care team, with a visit, a disclosure and a logged event."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    DisclosureFactory(patient=patient, recorded_by=staff["privacy"])
    access_log.record(None, access_log.CHART_VIEWED, patient_id=patient.pk, using="owner")
    return patient


def counts_after_switch(user, switch_to: str | None) -> dict[str, int]:
    """Rows of each PHI table that `user`'s request sees after injecting `SET ROLE switch_to`."""
    seen = {}
    with transaction.atomic(using="default"):
        if user is not None:
            apply_context(database_role_for(user), user.pk)
        with connections["default"].cursor() as cursor:
            if switch_to:
                cursor.execute("SELECT set_config('role', %s, true)", [switch_to])
            for table in PHI_TABLES:
                try:
                    with transaction.atomic(using="default"):  # a refusal spoils nothing else
                        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                        seen[table] = cursor.fetchone()[0]
                except DatabaseError:
                    seen[table] = 0  # no grant at all for that role
        transaction.set_rollback(True, using="default")
    return seen


def test_each_group_still_sees_its_own_rows(staff, clinic):
    assert counts_after_switch(staff["frontdesk"], None)["patient_identities"] == 1
    assert counts_after_switch(staff["clinician"], None)["clinical_records"] == 1
    seen = counts_after_switch(staff["privacy"], None)
    assert seen["disclosures"] == 1 and seen["access_log"] == 1


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("analyst", roles.CLINICIAN),
        ("analyst", roles.FRONT_DESK),
        ("frontdesk", roles.CLINICIAN),
        ("frontdesk", roles.PRIVACY_OFFICER),
        ("clinician", roles.FRONT_DESK),
        ("clinician", roles.PRIVACY_OFFICER),
        ("privacy", roles.CLINICIAN),
        ("admin", roles.FRONT_DESK),
        ("outsider", roles.CLINICIAN),
        (None, roles.FRONT_DESK),  # before sign-in
        (None, roles.PRIVACY_OFFICER),
    ],
)
def test_switching_to_another_groups_role_reads_nothing(staff, clinic, who, target):
    user = staff[who] if who else None
    assert counts_after_switch(user, ROLE[target]) == dict.fromkeys(PHI_TABLES, 0)


def inject_as(user, role: str, statement: str, params: list) -> int:
    """Rows changed by `statement` run after switching `user`'s request to `role`."""
    with transaction.atomic(using="default"):
        apply_context(database_role_for(user), user.pk)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT set_config('role', %s, true)", [role])
            cursor.execute(statement, params)
            return cursor.rowcount


def test_an_analyst_switched_to_clinician_cannot_grant_itself_break_the_glass(staff, clinic):
    analyst, now = staff["analyst"], dt.datetime.now(dt.UTC)
    with pytest.raises(DatabaseError, match="row-level security"):
        inject_as(
            analyst,
            ROLE[roles.CLINICIAN],
            "INSERT INTO break_glass_grants (grant_id, staff_id, patient_id, reason_category,"
            " reason_text, starts_at, expires_at, review_comment)"
            " VALUES (gen_random_uuid(), %s, %s, 'emergency', '', %s, %s, '')",
            # Within the write checks' limits: only the role gate stands in the way.
            [analyst.pk, clinic.pk, now, now + dt.timedelta(hours=1)],
        )
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_a_clinician_switched_to_front_desk_changes_no_patient(staff, clinic):
    changed = inject_as(
        staff["clinician"], ROLE[roles.FRONT_DESK], "UPDATE patient_identities SET state = 'XX'", []
    )
    assert changed == 0
    assert PatientIdentity.objects.using("owner").get(pk=clinic.pk).state == "MA"
