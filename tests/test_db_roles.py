"""Least privilege, enforced by PostgreSQL itself: raw SQL through the web connection after the
role switch, exactly as a buggy view would run it."""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.db.utils import DatabaseError, ProgrammingError

from tests.db_helpers import as_role, run_as
from tests.factories import (
    AppointmentFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
    today_at,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

PHI_TABLES = [
    "patient_identities",
    "clinical_records",
    "care_team",
    "break_glass_grants",
    "visit_addenda",
    "access_log",
]


@pytest.fixture
def chart(staff):
    """A patient of `clinician` with one record, and a patient of `clinician2` with one."""
    mine = PatientFactory(last_name="Testmine")
    theirs = PatientFactory(last_name="Testtheirs")
    CareTeamMemberFactory(staff=staff["clinician"], patient=mine)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=theirs)
    return {
        "mine": mine,
        "theirs": theirs,
        "my_record": ClinicalRecordFactory(patient=mine, provider=staff["clinician"]),
        "their_record": ClinicalRecordFactory(patient=theirs, provider=staff["clinician2"]),
    }


def refused(role, query, user_id=None) -> bool:
    try:
        run_as(role, query, user_id=user_id)
    except ProgrammingError as exc:
        return "permission denied" in str(exc)
    return False


# --- analyst ---------------------------------------------------------------------------------
def test_analyst_cannot_read_notes(chart):
    assert refused("clinic_analyst", "SELECT notes FROM clinical_records")


def test_analyst_cannot_read_identities(chart):
    assert refused("clinic_analyst", "SELECT * FROM patient_identities")


@pytest.mark.parametrize("table", PHI_TABLES)
def test_analyst_cannot_touch_any_phi_table(chart, table):
    assert refused("clinic_analyst", f"SELECT count(*) FROM {table}")  # noqa: S608


def test_the_analyst_view_has_exactly_its_columns_and_only_its_owner_reads_it(chart):
    assert refused("clinic_analyst", "SELECT * FROM clinical_records_analyst")
    with connections["owner"].cursor() as cursor:
        cursor.execute("SET ROLE clinic_analytics_owner")
        try:
            cursor.execute("SELECT * FROM clinical_records_analyst")
            rows = cursor.fetchall()
            columns = [c.name for c in cursor.description]
        finally:
            cursor.execute("RESET ROLE")
    assert columns == ["record_id", "patient_id", "provider_id", "diagnosis_code", "visit_date"]
    assert len(rows) == 2  # the view's owner is not the table owner, yet sees every row


def test_reference_grants_hold_for_the_analyst():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('clinic_analyst', 'clinical_records', 'SELECT'),"
            " has_table_privilege('clinic_analyst', 'clinical_records_analyst', 'SELECT'),"
            " has_column_privilege('clinic_analyst', 'clinical_records', 'notes', 'SELECT')"
        )
        assert cursor.fetchone() == (False, False, False)


def test_no_phi_table_grants_anything_to_public():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE a.grantee = 0 AND c.relname = ANY(%s)",
            [PHI_TABLES],
        )
        assert cursor.fetchall() == []


# --- clinician -------------------------------------------------------------------------------
def test_clinician_sees_only_care_team_records(staff, chart):
    """Rows follow the care team, not authorship: on the clinician's care-team patient another
    clinician's record is visible too, and on the other patient even a record the clinician
    wrote is not (so a `provider_id = me` policy fails here, as does `true`)."""
    other_on_mine = ClinicalRecordFactory(patient=chart["mine"], provider=staff["clinician2"])
    mine_on_theirs = ClinicalRecordFactory(patient=chart["theirs"], provider=staff["clinician"])
    rows = run_as(
        "clinic_clinician", "SELECT record_id FROM clinical_records", user_id=staff["clinician"].pk
    )
    assert {row[0] for row in rows} == {chart["my_record"].pk, other_on_mine.pk}
    assert len(rows) == 2 and mine_on_theirs.pk not in {row[0] for row in rows}


def test_clinician_cannot_update_another_clinicians_patient(staff, chart):
    changed = run_as(
        "clinic_clinician",
        "UPDATE clinical_records SET visit_date = visit_date WHERE record_id = %s",
        [chart["their_record"].pk],
        user_id=staff["clinician"].pk,
    )
    assert changed == 0


def test_clinician_cannot_insert_for_another_clinicians_patient(staff, chart):
    with pytest.raises(ProgrammingError, match="row-level security"):
        run_as(
            "clinic_clinician",
            "INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code,"
            " notes, visit_date, version, created_at, updated_at) VALUES (gen_random_uuid(),"
            " %s, %s, 'E11.9', '', clinic_today(), 1, now(), now())",
            [chart["theirs"].pk, staff["clinician"].pk],
            user_id=staff["clinician"].pk,
        )


def test_clinician_cannot_write_as_another_provider(staff, chart):
    # The write check (records/db_checks.py) refuses it first; row-level security would too.
    with pytest.raises(DatabaseError, match="recorded by its provider"):
        run_as(
            "clinic_clinician",
            "INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code,"
            " notes, visit_date, version, created_at, updated_at) VALUES (gen_random_uuid(),"
            " %s, %s, 'E11.9', '', clinic_today(), 1, now(), now())",
            [chart["mine"].pk, staff["clinician2"].pk],
            user_id=staff["clinician"].pk,
        )


def test_clinician_cannot_add_themselves_to_a_care_team(staff, chart):
    assert refused(
        "clinic_clinician",
        f"INSERT INTO care_team (staff_id, patient_id, starts_on, reason, created_at) "
        f"VALUES ({staff['clinician'].pk}, '{chart['theirs'].pk}', clinic_today(), '',"
        f" now())",
        user_id=staff["clinician"].pk,
    )


def test_clinician_without_staff_id_sees_nothing(chart):
    assert run_as("clinic_clinician", "SELECT count(*) FROM clinical_records") == [(0,)]


def test_ended_care_team_membership_hides_the_records(staff, chart):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "UPDATE care_team SET ends_on = clinic_today() - 1 WHERE staff_id = %s",
            [staff["clinician"].pk],
        )
    rows = run_as(
        "clinic_clinician", "SELECT count(*) FROM clinical_records", user_id=staff["clinician"].pk
    )
    assert rows == [(0,)]


def test_policy_is_evaluated_once_per_query(staff, chart):
    plan = run_as(
        "clinic_clinician",
        "EXPLAIN SELECT record_id, visit_date FROM clinical_records "
        "ORDER BY visit_date DESC LIMIT 50",
        user_id=staff["clinician"].pk,
    )
    text = "\n".join(row[0] for row in plan)
    assert "InitPlan" in text
    # current_setting is only ever read inside the InitPlans, never in a per-row filter.
    per_row = [line for line in text.splitlines() if "Filter" in line and "current_setting" in line]
    assert per_row == []


def test_the_pages_check_agrees_with_row_level_security_on_every_kind_of_patient(staff):
    """records/access.py asks the policy's condition as a column of the patient's row; for every
    kind of patient it must say yes exactly when RLS shows the patient's records: on the team
    today, team ended, team not started, active grant, ended and expired grants, another
    clinician's patient, no relation at all."""
    import datetime as dt

    from django.utils import timezone

    from records.access import MAY_SEE_COLUMN

    clinician, today, now = staff["clinician"], timezone.localdate(), timezone.now()
    patients = {name: PatientFactory(last_name=f"Testperson{name}") for name in (
        "team", "ended", "future", "grant", "grant_ended", "grant_expired", "others", "none"
    )}  # fmt: skip
    for patient in patients.values():
        ClinicalRecordFactory(patient=patient, provider=staff["clinician2"])
    CareTeamMemberFactory(staff=clinician, patient=patients["team"])
    day = dt.timedelta(days=1)
    spans = {"ended": (today - 9 * day, today - day), "future": (today + day, None)}
    for name, (starts, ends) in spans.items():
        CareTeamMemberFactory(
            staff=clinician, patient=patients[name], starts_on=starts, ends_on=ends, reason="test"
        )
    BreakGlassGrantFactory(staff=clinician, patient=patients["grant"])
    BreakGlassGrantFactory(staff=clinician, patient=patients["grant_ended"], ended_at=now)
    BreakGlassGrantFactory(staff=clinician, patient=patients["grant_expired"], hours=-1)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patients["others"])
    check = f"SELECT {MAY_SEE_COLUMN.sql} FROM patient_identities WHERE patient_id = %s"  # noqa: S608
    records = "SELECT count(*) FROM clinical_records WHERE patient_id = %s"
    seen = {}
    for name, patient in patients.items():
        ((may_see,),) = run_as("clinic_clinician", check, [patient.pk], user_id=clinician.pk)
        ((visible,),) = run_as("clinic_clinician", records, [patient.pk], user_id=clinician.pk)
        assert may_see == (visible > 0), name
        seen[name] = may_see
    assert seen == {name: name in ("team", "grant") for name in patients}

    # The chart's and the break-the-glass page's question, the three paths told apart: NULL
    # exactly where row-level security hides the records, 'break_glass' for the grant alone.
    AppointmentFactory(clinician=clinician, patient=patients["none"], starts_at=today_at(12))
    expected = {name: None for name in patients}
    expected |= {"team": "care_team", "none": "care_team", "grant": "break_glass"}
    for name, patient in patients.items():
        ((access,),) = run_as(
            "clinic_clinician", "SELECT clinic_clinician_access(%s)", [patient.pk],
            user_id=clinician.pk,
        )  # fmt: skip
        ((visible,),) = run_as("clinic_clinician", records, [patient.pk], user_id=clinician.pk)
        assert (access, access is not None) == (expected[name], visible > 0), name


@pytest.mark.parametrize(
    ("role", "persona"),
    [
        ("clinic_front_desk", "frontdesk"),
        ("clinic_analyst", "analyst"),
        ("clinic_privacy_officer", "privacy"),
        ("clinic_admin", "admin"),
        (None, None),  # the bare web login, before sign-in
    ],
)
def test_only_the_clinician_may_ask_the_charts_access_question(staff, role, persona):
    patient = PatientFactory(last_name="Testpersonaccess")
    with pytest.raises(DatabaseError, match="permission denied for function"):
        run_as(
            role, "SELECT clinic_clinician_access(%s)", [patient.pk],
            user_id=staff[persona].pk if persona else None,
        )  # fmt: skip


# --- front desk ------------------------------------------------------------------------------
def test_front_desk_sees_visit_dates_and_providers(staff, chart):
    rows = run_as("clinic_front_desk", "SELECT visit_date, provider_id FROM clinical_records")
    assert len(rows) == 2


@pytest.mark.parametrize("column", ["diagnosis_code", "notes"])
def test_front_desk_cannot_read_diagnoses_or_notes(chart, column):
    assert refused("clinic_front_desk", f"SELECT {column} FROM clinical_records")  # noqa: S608


def test_front_desk_cannot_write_clinical_records(staff, chart):
    assert refused("clinic_front_desk", "UPDATE clinical_records SET visit_date = visit_date")


# --- privacy officer and administrator ---------------------------------------------------------
@pytest.mark.parametrize("role", ["clinic_privacy_officer", "clinic_admin"])
def test_privacy_officer_and_admin_cannot_read_clinical_data(chart, role):
    if role == "clinic_privacy_officer":
        # Its SELECT serves the right of access only: no open access request, no row
        # (tests/test_rights_database.py opens one).
        assert run_as(role, "SELECT notes FROM clinical_records") == []
    else:
        assert refused(role, "SELECT notes FROM clinical_records")
    assert refused(role, "SELECT ssn FROM patient_identities")


# --- the web role itself -------------------------------------------------------------------------
@pytest.mark.parametrize("table", PHI_TABLES)
def test_web_role_alone_reads_no_phi_table(chart, table):
    assert refused(None, f"SELECT count(*) FROM {table}")  # noqa: S608


@pytest.mark.parametrize("target", ["clinic_owner", "postgres", "clinic_analytics_owner"])
def test_web_connection_cannot_become_owner_or_superuser(target):
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="default"):
            with connections["default"].cursor() as cursor:
                cursor.execute(f'SET LOCAL ROLE "{target}"')


def test_reset_role_after_a_switch_falls_back_to_no_phi(staff, chart):
    with as_role("clinic_clinician", staff["clinician"].pk) as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == ("clinic_web",)
        with pytest.raises(ProgrammingError, match="permission denied"):
            with transaction.atomic(using="default"):
                cursor.execute("SELECT count(*) FROM clinical_records")


def test_login_roles_have_the_designed_attributes():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT rolname, rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolbypassrls "
            "FROM pg_roles WHERE rolname LIKE 'clinic\\_%%' ORDER BY rolname"
        )
        roles = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute("SELECT pg_has_role('clinic_web', 'clinic_owner', 'MEMBER')")
        assert cursor.fetchone() == (False,)
    assert roles["clinic_web"] == (True, False, False, False, False)
    for group in (
        "clinic_front_desk",
        "clinic_clinician",
        "clinic_analyst",
        "clinic_privacy_officer",
        "clinic_admin",
    ):
        assert roles[group][0] is False  # NOLOGIN
        assert roles[group][2:] == (False, False, False)


# --- sign-in tables: own rows only ------------------------------------------------------------
def test_signed_in_user_cannot_change_another_users_password(staff):
    changed = run_as(
        "clinic_clinician",
        "UPDATE auth_user SET password = 'x' WHERE id = %s",
        [staff["admin"].pk],
        user_id=staff["clinician"].pk,
    )
    assert changed == 0


def test_signed_in_user_may_change_their_own_password_row(staff):
    changed = run_as(
        "clinic_clinician",
        "UPDATE auth_user SET password = password WHERE id = %s",
        [staff["clinician"].pk],
        user_id=staff["clinician"].pk,
    )
    assert changed == 1


def test_web_role_cannot_change_passwords():
    assert refused(None, "UPDATE auth_user SET password = 'x'")


def test_signed_in_user_sees_and_changes_only_their_own_devices(staff):
    from tests.conftest import give_totp

    give_totp(staff["admin"])
    mine = give_totp(staff["clinician"])
    rows = run_as(
        "clinic_clinician", "SELECT id FROM otp_totp_totpdevice", user_id=staff["clinician"].pk
    )
    assert rows == [(mine.pk,)]
    deleted = run_as(
        "clinic_clinician",
        "DELETE FROM otp_totp_totpdevice WHERE user_id = %s",
        [staff["admin"].pk],
        user_id=staff["clinician"].pk,
    )
    assert deleted == 0


def test_web_role_only_reads_devices():
    assert refused(None, "DELETE FROM otp_totp_totpdevice")
    assert refused(None, "SELECT count(*) FROM otp_static_statictoken")


@pytest.mark.parametrize("table", PHI_TABLES)
def test_signed_in_role_without_a_clinic_group_reads_no_phi(chart, staff, table):
    assert refused(
        "clinic_signed_in",
        f"SELECT count(*) FROM {table}",  # noqa: S608
        user_id=staff["outsider"].pk,
    )
