"""What the database guarantees for the chart, proven with raw SQL on the real cluster, run on
the web login's connection after a real request context (as injected SQL would run): the
role matrix (front desk, analyst, privacy officer, administrator refused), row-level security
by care team and break the glass, the write checks, the plausibility CHECKs, ciphertext at
rest, and a history written by the database that nobody can write, change or delete."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError

from chart.models import Allergy, AllergyReview, ChartHistory, Problem, VitalSigns
from clinic.encryption import encrypt_value
from tests.db_helpers import request_cursor
from tests.factories import (
    AllergyFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    PatientFactory,
    ProblemFactory,
    VitalSignsFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")
OWNER = "owner"
TABLES = (
    "chart_allergies",
    "chart_allergy_reviews",
    "chart_problems",
    "chart_vital_signs",
    "chart_medications",
    "chart_history",
)


def run(user, statement: str, params: list | None = None):
    """Rows fetched or changed by `statement` injected into `user`'s request (rolled back)."""
    with request_cursor(user) as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount


@pytest.fixture
def patient(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return patient


def allergy_insert(patient, author, substance: str = "Fakeazole", **overrides) -> tuple:
    values = {
        "allergy_id": str(uuid.uuid4()),
        "patient_id": str(patient.pk),
        "recorded_by_id": author.pk,
        "substance": encrypt_value(substance, "chart_allergies.substance"),
        "reaction": encrypt_value("", "chart_allergies.reaction"),
        "severity": "",
        "status": "active",
        **overrides,
    }
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    return (
        f"INSERT INTO chart_allergies ({columns}, created_at, updated_at) "  # noqa: S608
        f"VALUES ({marks}, now(), now())",
        list(values.values()),
    )


@pytest.mark.parametrize("who", ["frontdesk", "analyst", "privacy", "admin"])
@pytest.mark.parametrize("table", TABLES)
def test_other_roles_cannot_read_any_chart_table(staff, patient, who, table):
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff[who], f"SELECT count(*) FROM {table}")  # noqa: S608


@pytest.mark.parametrize("who", ["frontdesk", "analyst"])
def test_other_roles_cannot_write_an_allergy(staff, patient, who):
    statement, params = allergy_insert(patient, staff[who])
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff[who], statement, params)
    assert not Allergy.objects.using(OWNER).exists()


def test_clinician_outside_the_care_team_sees_and_writes_nothing(staff, patient):
    AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    ProblemFactory(patient=patient, recorded_by=staff["clinician"])
    assert run(staff["clinician"], "SELECT count(*) FROM chart_allergies") == [(1,)]
    for table in ("chart_allergies", "chart_problems", "chart_history"):
        assert run(staff["clinician2"], f"SELECT count(*) FROM {table}") == [(0,)]  # noqa: S608
    assert run(staff["clinician2"], "UPDATE chart_problems SET status = 'resolved'") == 0
    statement, params = allergy_insert(patient, staff["clinician2"])
    with pytest.raises(DatabaseError, match="row-level security"):
        run(staff["clinician2"], statement, params)


def test_break_the_glass_opens_the_chart_in_the_database(staff, patient):
    AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    assert run(staff["clinician2"], "SELECT count(*) FROM chart_allergies") == [(1,)]
    statement, params = allergy_insert(patient, staff["clinician2"])
    assert run(staff["clinician2"], statement, params) == 1


def test_an_item_is_recorded_by_the_caller(staff, patient):
    statement, params = allergy_insert(patient, staff["clinician2"])
    with pytest.raises(DatabaseError, match="row-level security|recorded by the caller"):
        run(staff["clinician"], statement, params)


def test_patient_and_author_never_change(staff, patient):
    allergy = AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    other = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=other)
    with pytest.raises(DatabaseError, match="permission denied"):
        run(
            staff["clinician"],
            "UPDATE chart_allergies SET patient_id = %s WHERE allergy_id = %s",
            [str(other.pk), str(allergy.pk)],
        )


def test_nothing_is_deleted(staff, patient):
    AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    for table in ("chart_allergies", "chart_problems", "chart_vital_signs", "chart_medications"):
        with pytest.raises(DatabaseError, match="permission denied"):
            run(staff["clinician"], f"DELETE FROM {table}")  # noqa: S608


def test_plaintext_free_text_is_refused(staff, patient):
    statement, params = allergy_insert(patient, staff["clinician"])
    params[3] = "Fakeazole"  # the substance, not encrypted
    with pytest.raises(DatabaseError, match="chart_allergies_substance_form"):
        run(staff["clinician"], statement, params)


def test_a_problem_needs_a_billable_code_and_a_past_onset(staff, patient):
    insert = (
        "INSERT INTO chart_problems (problem_id, patient_id, recorded_by_id, icd10_code,"
        " onset_date, status, note, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, 'active', %s, now(), now())"
    )

    def params(code: str, onset: datetime.date) -> list:
        note = encrypt_value("", "chart_problems.note")
        return [str(uuid.uuid4()), str(patient.pk), staff["clinician"].pk, code, onset, note]

    with pytest.raises(DatabaseError, match="not a billable ICD-10-CM code"):
        run(staff["clinician"], insert, params("E11", datetime.date(2020, 1, 1)))
    with pytest.raises(DatabaseError, match="not in the future"):
        run(staff["clinician"], insert, params("E11.9", datetime.date(2999, 1, 1)))
    assert run(staff["clinician"], insert, params("E11.9", datetime.date(2020, 1, 1))) == 1


def test_a_resolved_problem_has_its_date(staff, patient):
    problem = ProblemFactory(patient=patient, recorded_by=staff["clinician"])
    with pytest.raises(DatabaseError, match="chart_problem_resolution"):
        run(
            staff["clinician"],
            "UPDATE chart_problems SET status = 'resolved', updated_at = now()"
            " WHERE problem_id = %s",
            [str(problem.pk)],
        )
    assert Problem.objects.using(OWNER).get().status == "active"


@pytest.mark.parametrize(
    "column, value, constraint",
    [
        ("heart_rate", 400, "chart_vitals_heart_rate_range"),
        ("spo2", 120, "chart_vitals_spo2_range"),
        ("temperature", 98.6, "chart_vitals_temperature_range"),
        ("weight", 0, "chart_vitals_weight_range"),
    ],
)
def test_implausible_vitals_are_refused_by_the_database(staff, patient, column, value, constraint):
    statement = (
        f"INSERT INTO chart_vital_signs (vitals_id, patient_id, recorded_by_id, taken_at, {column},"  # noqa: S608
        " entered_in_error, created_at, updated_at) VALUES (%s, %s, %s, now(), %s, false, now(),"
        " now())"
    )
    params = [str(uuid.uuid4()), str(patient.pk), staff["clinician"].pk, value]
    with pytest.raises(DatabaseError, match=constraint):
        run(staff["clinician"], statement, params)


def test_measurements_never_change_but_may_be_marked_in_error(staff, patient):
    vitals = VitalSignsFactory(patient=patient, recorded_by=staff["clinician"])
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff["clinician"], "UPDATE chart_vital_signs SET heart_rate = 60")
    mark = (
        "UPDATE chart_vital_signs SET entered_in_error = true, updated_at = now()"
        " WHERE vitals_id = %s"
    )
    assert run(staff["clinician"], mark, [str(vitals.pk)]) == 1
    VitalSigns.objects.using(OWNER).filter(pk=vitals.pk).update(entered_in_error=True)
    undo = (
        "UPDATE chart_vital_signs SET entered_in_error = false, updated_at = now()"
        " WHERE vitals_id = %s"
    )
    with pytest.raises(DatabaseError, match="entered in error stays"):
        run(staff["clinician"], undo, [str(vitals.pk)])


def test_no_known_allergies_and_an_active_allergy_exclude_each_other(staff, patient):
    AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    statement = (
        "INSERT INTO chart_allergy_reviews (patient_id, no_known_allergies, recorded_by_id,"
        " updated_at) VALUES (%s, true, %s, now())"
    )
    with pytest.raises(DatabaseError, match="an active allergy is on file"):
        run(staff["clinician"], statement, [str(patient.pk), staff["clinician"].pk])
    other = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=other)
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(statement, [str(other.pk), staff["clinician"].pk])
        insert, params = allergy_insert(other, staff["clinician"])
        with pytest.raises(DatabaseError, match="no known allergies"):
            cursor.execute(insert, params)


def test_history_is_written_by_the_database_and_nobody_else(staff, patient):
    statement, params = allergy_insert(patient, staff["clinician"])
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(statement, params)
        cursor.execute(
            "UPDATE chart_allergies SET status = 'resolved', updated_at = now()"
            " WHERE allergy_id = %s",
            [params[0]],
        )
        cursor.execute(
            "SELECT operation, changed_by_id, item_table, row ->> 'substance' FROM chart_history"
            " WHERE item_id = %s ORDER BY history_id",
            [params[0]],
        )
        rows = cursor.fetchall()
    assert [r[:3] for r in rows] == [
        ("INSERT", staff["clinician"].pk, "chart_allergies"),
        ("UPDATE", staff["clinician"].pk, "chart_allergies"),
    ]
    assert all(r[3].startswith("v1:") for r in rows)  # ciphertext, as stored
    AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    assert ChartHistory.objects.using(OWNER).count() == 1
    for statement in (
        "UPDATE chart_history SET changed_by_id = 1",
        "DELETE FROM chart_history",
        "TRUNCATE chart_history",
        "INSERT INTO chart_history (patient_id, item_table, item_id, operation, changed_at, row)"
        f" VALUES ('{patient.pk}', 'chart_allergies', 'x', 'INSERT', now(), '{{}}')",
    ):
        with pytest.raises(DatabaseError, match="permission denied"):
            run(staff["clinician"], statement)
    assert ChartHistory.objects.using(OWNER).count() == 1


def test_no_known_allergies_follows_the_care_team_rule_in_the_database(staff, patient):
    """`chart_allergy_reviews` asks the rule through `clinic_clinician_may_see()` per row
    (chart/db_grants.py ONE_ROW_PER_PATIENT): a clinician off the care team neither reads,
    states, nor withdraws the statement; on the care team or under break the glass it does."""
    statement = (
        "INSERT INTO chart_allergy_reviews (patient_id, no_known_allergies, recorded_by_id,"
        " updated_at) VALUES (%s, true, %s, now())"
    )
    with pytest.raises(DatabaseError, match="row-level security"):
        run(staff["clinician2"], statement, [str(patient.pk), staff["clinician2"].pk])
    assert run(staff["clinician"], statement, [str(patient.pk), staff["clinician"].pk]) == 1
    AllergyReview.objects.using(OWNER).create(
        patient=patient, no_known_allergies=True, recorded_by=staff["clinician"]
    )
    count = "SELECT count(*) FROM chart_allergy_reviews"
    assert run(staff["clinician"], count) == [(1,)]
    assert run(staff["clinician2"], count) == [(0,)]
    withdraw = "UPDATE chart_allergy_reviews SET no_known_allergies = false"
    assert run(staff["clinician2"], withdraw) == 0
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    assert run(staff["clinician2"], count) == [(1,)]
