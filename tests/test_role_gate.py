"""SQL injected into one user's request cannot borrow another group's rights: the web login may
switch to any group role, but every PHI table lets a group role act only for a request whose
verified role is that group (clinic/role_gate.py). Each attack runs on the web login's
connection, after the real context statement of a signed-in request, as an injected statement
would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connections, transaction

from clinic import access_log, roles
from clinic.db_context import apply_context
from clinic.models import AccessEvent
from clinic.staff import database_role_for
from patients.models import PatientIdentity
from records.models import BreakGlassGrant
from tests.db_helpers import request_cursor
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
    with request_cursor(user, switch_to=switch_to) as cursor:
        for table in PHI_TABLES:
            try:
                with transaction.atomic(using="default"):  # a refusal spoils nothing else
                    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                    seen[table] = cursor.fetchone()[0]
            except DatabaseError:
                seen[table] = 0  # no grant at all for that role
    return seen


def test_each_group_still_sees_its_own_rows(staff, clinic):
    assert counts_after_switch(staff["frontdesk"], None)["patient_identities"] == 1
    assert counts_after_switch(staff["clinician"], None)["clinical_records"] == 1
    seen = counts_after_switch(staff["privacy"], None)
    # Every event, the personas' account creation (accounts/security_events.py) included.
    logged = AccessEvent.objects.using("owner").count()
    assert seen["disclosures"] == 1 and seen["access_log"] == logged >= 1


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
    """Rows changed by `statement` run after switching `user`'s request (None: before sign-in)
    to `role`."""
    with transaction.atomic(using="default"):
        if user is not None:
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


def group_granted_relations() -> dict[str, list[str]]:
    """From the catalog, not the declaration: each group role's tables (any privilege)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT grantee, table_name FROM information_schema.role_table_grants "
            "WHERE grantee = ANY(%s) UNION SELECT DISTINCT grantee, table_name "
            "FROM information_schema.role_column_grants WHERE grantee = ANY(%s)",
            [list(ROLE.values())] * 2,
        )
        found: dict[str, list[str]] = {}
        for role, table in cursor.fetchall():
            found.setdefault(role, []).append(table)
    return {role: sorted(tables) for role, tables in found.items()}


def test_every_table_a_group_role_holds_a_right_on_is_gated(staff, clinic):
    """Each group's tables, rights read from the catalog: the administrator's users, groups and
    MFA devices, the privacy officer's lockouts as much as PHI. Every other group's request, and
    a request before sign-in, that switches to the role reads no row of any of them."""
    relations = group_granted_relations()
    assert "auth_user_groups" in relations[ROLE[roles.ADMINISTRATOR]]
    assert "axes_accessattempt" in relations[ROLE[roles.PRIVACY_OFFICER]]
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind IN ('v', 'm')")
        views = {name for (name,) in cursor.fetchall()}
    for target_group, target in ROLE.items():
        tables = [t for t in relations.get(target, []) if t not in views]
        for who in ("frontdesk", "clinician", "analyst", "privacy", "admin", None):
            user = staff[who] if who else None
            if user is not None and database_role_for(user) == target:
                continue
            with transaction.atomic(using="default"):
                if user is not None:
                    apply_context(database_role_for(user), user.pk)
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT set_config('role', %s, true)", [target])
                    for table in tables:
                        with transaction.atomic(using="default"):
                            try:
                                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                                seen = cursor.fetchone()[0]
                            except DatabaseError:
                                seen = 0  # a column grant only: no row readable as a whole
                        assert seen == 0, (who, target_group, table)
                transaction.set_rollback(True, using="default")


@pytest.mark.parametrize("who", ["analyst", "clinician", "frontdesk", "privacy", None])
def test_no_request_borrows_the_administrators_role_to_take_over_an_account(staff, who):
    """Switched to the administrator's role, no other request changes a password, joins a
    group or removes a colleague's second factor."""
    victim, attacker = staff["privacy"], staff[who] if who else None
    stored = User.objects.using("owner").get(pk=victim.pk).password
    clinicians = Group.objects.using("owner").get(name=roles.CLINICIAN)
    attempts = [
        ("UPDATE auth_user SET password = 'x', is_superuser = true WHERE id = %s", [victim.pk]),
        ("DELETE FROM otp_totp_totpdevice WHERE user_id = %s", [victim.pk]),
        ("UPDATE auth_user_groups SET group_id = %s", [clinicians.pk]),
    ]
    for statement, params in attempts:
        assert inject_as(attacker, ROLE[roles.ADMINISTRATOR], statement, params) == 0
    with pytest.raises(DatabaseError, match="row-level security"):
        inject_as(
            attacker,
            ROLE[roles.ADMINISTRATOR],
            "INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)",
            [victim.pk, clinicians.pk],
        )
    assert User.objects.using("owner").get(pk=victim.pk).password == stored


def test_the_gate_is_asked_once_per_statement_not_per_row(clinic, staff):
    """The gate compares the verified role with the role in force inside one sub-select (an
    InitPlan): a row filter that called `current_user` again for every row cost a fifth of a
    whole-table list under row-level security (docs/benchmarks.md). Every table's gate has that
    form, and no scan of a clinician's query filters rows on `current_user`."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = 'role_gate'"
        )
        gates = {row[0] for row in cursor.fetchall()}
    assert gates == {"( SELECT (clinic_staff_role() = CURRENT_USER))"}
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(
            "EXPLAIN (COSTS OFF) SELECT record_id FROM clinical_records "
            "ORDER BY visit_date DESC LIMIT 50"
        )
        plan = [row[0] for row in cursor.fetchall()]
    filters = [line for line in plan if "Filter:" in line]
    assert filters, plan
    assert not any("CURRENT_USER" in line for line in filters), plan
