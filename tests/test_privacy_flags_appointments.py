"""The privacy officer's flag "charts viewed outside the care team" and the access report's
basis count a chart opened through that day's appointment (care team by appointment) as the
care team it was: an appointment with that clinician, that day, booked before the chart was
opened and not yet cancelled or a no-show then. Any other appointment (another clinician,
another day, booked after, cancelled before) still leaves the view flagged. The privacy officer
reads only the appointment columns the flag needs (raw SQL: never the visit reason, and an
analyst's request switched to the privacy officer's role sees no row)."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone

from clinic import access_log
from tests.db_helpers import in_request
from tests.factories import AppointmentFactory, PatientFactory, today_at
from tests.privacy_helpers import append

pytestmark = pytest.mark.usefixtures("clinic_db")
FLAGS = "/privacy/flags/"


def flagged(client_for, staff) -> list[tuple[str, int]]:
    response = client_for(staff["privacy"]).get(FLAGS)
    return [(f.username, f.patients) for f in response.context["outside_care_team"]]


def viewed_with(staff, **appointment) -> None:
    """An appointment of a fresh patient (today, with the clinician, unless told otherwise),
    then the clinician's chart view of that patient."""
    patient = PatientFactory()
    AppointmentFactory(
        patient=patient,
        **{"clinician": staff["clinician"], "starts_at": today_at(12), **appointment},
    )
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)


@override_settings(PRIVACY_FLAG_OUTSIDE_CARE_TEAM=3)
def test_charts_opened_through_todays_appointments_are_not_flagged(client_for, staff):
    for hour, status in ((10, "booked"), (11, "arrived"), (12, "done")):
        viewed_with(staff, status=status, starts_at=today_at(hour))
    assert flagged(client_for, staff) == []


@override_settings(PRIVACY_FLAG_OUTSIDE_CARE_TEAM=4)
def test_appointments_that_did_not_count_then_leave_the_views_flagged(client_for, staff):
    viewed_with(staff, clinician=staff["clinician2"])  # someone else's patient
    viewed_with(staff, starts_at=today_at(12) + datetime.timedelta(days=2))  # another day
    viewed_with(
        staff,
        starts_at=today_at(13),
        status="cancelled",
        cancel_reason="other",
        cancelled_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    # Booked only after the chart was opened.
    patient = PatientFactory()
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    AppointmentFactory(
        patient=patient,
        clinician=staff["clinician"],
        starts_at=today_at(14),
        created_at=timezone.now() + datetime.timedelta(seconds=1),
    )
    assert flagged(client_for, staff) == [("t-clinician", 4)]


def test_a_later_cancellation_does_not_flag_a_view_made_while_it_counted(client_for, staff):
    with override_settings(PRIVACY_FLAG_OUTSIDE_CARE_TEAM=1):
        viewed_with(
            staff,
            status="cancelled",
            cancel_reason="other",
            cancelled_at=timezone.now() + datetime.timedelta(minutes=5),
        )
        assert flagged(client_for, staff) == []


def test_the_access_report_names_the_appointment_as_the_basis(client_for, staff, patient):
    AppointmentFactory(patient=patient, clinician=staff["clinician"], starts_at=today_at(12))
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["clinician2"].pk, access_log.CHART_VIEWED, patient.pk)
    response = client_for(staff["privacy"]).get(f"/privacy/patients/{patient.pk}/")
    basis = {row.username: row.basis for row in response.context["rows"]}
    assert basis == {"t-clinician": "care team (appointment that day)", "t-clinician2": "clinician"}


def test_privacy_officer_sql_reads_who_and_when_but_never_the_visit_reason(staff):
    booked = AppointmentFactory(clinician=staff["clinician"], starts_at=today_at(12))
    rows = in_request(
        staff["privacy"],
        "SELECT patient_id, clinician_id, status FROM appointments WHERE appointment_id = %s",
        [str(booked.pk)],
    )
    assert rows == [(booked.patient_id, staff["clinician"].pk, "booked")]
    for column in ("visit_reason", "appointment_type_id", "override_reason"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff["privacy"], f"SELECT {column} FROM appointments")  # noqa: S608
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(
            staff["privacy"],
            "UPDATE appointments SET status = 'cancelled' RETURNING 1",
        )


def test_an_analyst_request_switched_to_the_privacy_officer_sees_no_appointment(staff):
    AppointmentFactory(clinician=staff["clinician"], starts_at=today_at(12))
    rows = in_request(
        staff["analyst"],
        "SELECT count(*) FROM appointments",
        switch_to="clinic_privacy_officer",
    )
    assert rows == [(0,)]
