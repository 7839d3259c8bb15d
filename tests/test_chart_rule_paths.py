"""The chart's tables ask the care-team rule in the form planned once for one patient's rows
(records/db_grants.py `clinician_may_see_one_patient`): proven with raw SQL on the web login's
connection in a clinician's request, as injected SQL would run. Every path of the rule opens a
patient's problems, allergies, medications, vital signs and their history exactly where the
visits' policy (the rule written out, `clinician_may_see`) opens the visits, and nowhere else;
and one read writes the audit lines of one plan, not of two."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connections
from django.utils import timezone

from tests.db_helpers import audit_lines, audited_tables, in_request
from tests.factories import (
    AllergyFactory,
    AppointmentFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    VitalSignsFactory,
    clinic_moment,
    today_at,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

CHART_TABLES = (
    "chart_problems",
    "chart_allergies",
    "chart_medications",
    "chart_vital_signs",
    "chart_history",
)


@pytest.fixture
def charted(staff):
    """A patient with one of each chart item (their history rows written by the trigger) and
    one visit, on nobody's care team."""
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    author = staff["clinician"]
    ProblemFactory(patient=patient, recorded_by=author)
    AllergyFactory(patient=patient, recorded_by=author)
    MedicationFactory(patient=patient, recorded_by=author)
    VitalSignsFactory(patient=patient, recorded_by=author)
    ClinicalRecordFactory(patient=patient, provider=author)
    return patient


def seen(user, patient) -> dict[str, int]:
    """How many rows of the patient each chart table, and the visits, show `user`."""
    counts = {}
    for table in (*CHART_TABLES, "clinical_records"):
        ((count,),) = in_request(
            user,
            f"SELECT count(*) FROM {table} WHERE patient_id = %s",  # noqa: S608 (constants)
            [str(patient.pk)],
        )
        counts[table] = count
    return counts


def opened(counts: dict[str, int]) -> bool:
    """Every table shows the patient's rows, or none does (else the forms disagree)."""
    assert len({count > 0 for count in counts.values()}) == 1, counts
    return counts["chart_problems"] > 0


def book(staff, patient, moment: datetime.datetime, **extra) -> None:
    AppointmentFactory(clinician=staff["clinician2"], patient=patient, starts_at=moment, **extra)


def test_nobodys_patient_is_closed_on_every_table(staff, charted):
    assert not opened(seen(staff["clinician2"], charted))
    assert not opened(seen(staff["clinician"], charted))  # the author is not on the care team


def test_the_care_team_today_opens_every_table(staff, charted):
    CareTeamMemberFactory(staff=staff["clinician2"], patient=charted)
    assert opened(seen(staff["clinician2"], charted))
    assert not opened(seen(staff["clinician"], charted))


def test_a_care_team_that_ended_yesterday_opens_nothing(staff, charted):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    CareTeamMemberFactory(
        staff=staff["clinician2"],
        patient=charted,
        starts_on=yesterday - datetime.timedelta(days=30),
        ends_on=yesterday,
    )
    assert not opened(seen(staff["clinician2"], charted))


def test_an_appointment_today_opens_every_table_for_its_clinician_only(staff, charted):
    book(staff, charted, today_at(12))
    assert opened(seen(staff["clinician2"], charted))
    assert not opened(seen(staff["clinician"], charted))


@pytest.mark.parametrize("days", [-1, 1])
def test_an_appointment_the_day_before_or_after_opens_nothing(staff, charted, days):
    day = timezone.localdate() + datetime.timedelta(days=days)
    book(staff, charted, clinic_moment(day, 23, 30) if days < 0 else clinic_moment(day, 0))
    assert not opened(seen(staff["clinician2"], charted))


def test_a_cancelled_appointment_today_opens_nothing(staff, charted):
    book(
        staff,
        charted,
        today_at(12),
        status="cancelled",
        cancel_reason="patient_request",
        cancelled_at=timezone.now(),
    )
    assert not opened(seen(staff["clinician2"], charted))


def test_an_active_grant_opens_every_table_and_an_ended_or_expired_one_nothing(staff, charted):
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=charted, hours=-1)
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=charted, ended_at=timezone.now())
    assert not opened(seen(staff["clinician2"], charted))
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=charted)
    assert opened(seen(staff["clinician2"], charted))


@pytest.mark.parametrize("table", CHART_TABLES)
def test_one_read_of_a_chart_table_is_planned_and_audited_once(staff, charted, table):
    """Written out as the visits' policy, each EXISTS of the rule was also planned as a hash of
    the clinician's panel; PostgreSQL initialised both plans on every statement with their calls
    of the verified staff identity, and pgaudit wrote a line for each: 24 lines for one read of
    a patient's problems. In the one-patient form: one line for the table, one per table of the
    rule (care team, appointments, grants) and one per call of the staff identity or role
    actually planned (the role gate, and per table of the rule its condition and its own
    policy's), 13 in all."""
    CareTeamMemberFactory(staff=staff["clinician"], patient=charted)
    connections["default"].close()  # a new session: the functions' first calls are planned too
    lines = audit_lines(
        staff["clinician"],
        f"SELECT * FROM {table} WHERE patient_id = %s",  # noqa: S608 (constants)
        [str(charted.pk)],
    )
    kinds = [re.search(r"AUDIT: SESSION,\d+,\d+,(\w+),", line).group(1) for line in lines]
    assert kinds.count("READ") == 4, lines
    assert len(lines) <= 13, "\n".join(line.split(",")[:8][-1] for line in lines)


def test_one_read_of_a_patients_visits_plans_appointments_and_grants_once(staff, charted):
    """The visits keep the care team as an EXISTS the planner may also hash (a list across
    patients needs it), but today's appointments and the clinician's grants are `IN (...)`,
    planned once: as EXISTS each was planned twice and both initialised, 24 audit lines for
    one read of a patient's visits, 16 now."""
    CareTeamMemberFactory(staff=staff["clinician"], patient=charted)
    connections["default"].close()
    lines = audit_lines(
        staff["clinician"],
        "SELECT * FROM clinical_records WHERE patient_id = %s",
        [str(charted.pk)],
    )
    tables = audited_tables(lines)
    assert tables.count("public.appointments") == 1, tables
    assert tables.count("public.break_glass_grants") == 1, tables
    assert len(lines) <= 16, "\n".join(line.split("AUDIT: ")[1][:80] for line in lines)
