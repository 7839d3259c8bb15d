"""Care team by appointment: a patient with a live appointment with a clinician today (the
clinic's day) is on that clinician's care team for the day. Raw SQL on the web connection in
the clinician's request (as injected SQL would run): the row-level security of clinical records
shows the patient's visits today, not for an appointment the day before or after, not for a
cancelled or no-show appointment, not for a colleague's appointment; the chart page agrees."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from tests.db_helpers import in_request
from tests.factories import (
    AppointmentFactory,
    ClinicalRecordFactory,
    PatientFactory,
    clinic_moment,
    today_at,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

VISITS = "SELECT record_id FROM clinical_records WHERE patient_id = %s"
MAY_SEE = "SELECT clinic_clinician_may_see(%s)"


@pytest.fixture
def booked_patient():
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    ClinicalRecordFactory(patient=patient)
    return patient


def visits_seen(user, patient) -> int:
    return len(in_request(user, VISITS, [str(patient.pk)]))


def test_an_appointment_today_opens_the_patients_visits_for_the_day(
    client_for, staff, booked_patient
):
    assert visits_seen(staff["clinician"], booked_patient) == 0
    AppointmentFactory(clinician=staff["clinician"], patient=booked_patient, starts_at=today_at(12))
    assert visits_seen(staff["clinician"], booked_patient) == 1
    assert in_request(staff["clinician"], MAY_SEE, [str(booked_patient.pk)]) == [(True,)]
    # Not the colleague's patient for that: their own appointments only.
    assert visits_seen(staff["clinician2"], booked_patient) == 0
    # The chart's own check agrees with the policy.
    url = reverse("records:visit-list", kwargs={"patient_id": booked_patient.pk})
    assert client_for(staff["clinician"]).get(url).status_code == 200


@pytest.mark.parametrize("hour", [0, 23])
def test_both_ends_of_the_clinics_day_count(staff, booked_patient, hour):
    AppointmentFactory(
        clinician=staff["clinician"], patient=booked_patient, starts_at=today_at(hour, 30)
    )
    assert visits_seen(staff["clinician"], booked_patient) == 1


@pytest.mark.parametrize("days", [-1, 1])
def test_an_appointment_the_day_before_or_after_opens_nothing(
    client_for, staff, booked_patient, days
):
    day = timezone.localdate() + datetime.timedelta(days=days)
    # The nearest ends of the neighbouring day: 23:30 yesterday, 00:00 tomorrow.
    moment = clinic_moment(day, 23, 30) if days < 0 else clinic_moment(day, 0)
    AppointmentFactory(clinician=staff["clinician"], patient=booked_patient, starts_at=moment)
    assert visits_seen(staff["clinician"], booked_patient) == 0
    assert in_request(staff["clinician"], MAY_SEE, [str(booked_patient.pk)]) == [(False,)]
    url = reverse("records:visit-list", kwargs={"patient_id": booked_patient.pk})
    assert client_for(staff["clinician"]).get(url).status_code == 403


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_a_cancelled_or_no_show_appointment_opens_nothing(staff, booked_patient, status):
    stamp = {"cancelled": "cancelled_at", "no_show": "no_show_at"}[status]
    AppointmentFactory(
        clinician=staff["clinician"],
        patient=booked_patient,
        starts_at=today_at(12),
        status=status,
        cancel_reason="patient_request" if status == "cancelled" else "",
        **{stamp: timezone.now()},
    )
    assert visits_seen(staff["clinician"], booked_patient) == 0


def test_a_patient_seen_today_stays_open_for_the_rest_of_the_day(staff, booked_patient):
    AppointmentFactory(
        clinician=staff["clinician"],
        patient=booked_patient,
        starts_at=today_at(0),
        status="done",
        done_at=timezone.now(),
    )
    assert visits_seen(staff["clinician"], booked_patient) == 1


def test_the_clinician_may_write_the_days_visit_but_cannot_book_themselves_in(
    staff, booked_patient
):
    other = PatientFactory()
    ClinicalRecordFactory(patient=other)
    # No right to add or move appointments: the clinician cannot put a patient on their day.
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(
            staff["clinician"],
            "UPDATE appointments SET patient_id = %s RETURNING 1",
            [str(other.pk)],
        )
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(
            staff["clinician"],
            "INSERT INTO appointments (appointment_id, patient_id) VALUES (gen_random_uuid(), %s)"
            " RETURNING 1",
            [str(other.pk)],
        )
    assert visits_seen(staff["clinician"], other) == 0


def test_the_chart_of_a_patient_booked_today_carries_no_break_the_glass_marker(
    client_for, staff, booked_patient
):
    """Care team by appointment is the care team for the day (issue 17): the chart opens
    without breaking the glass, so its banner must not say it was broken."""
    AppointmentFactory(clinician=staff["clinician"], patient=booked_patient, starts_at=today_at(12))
    url = reverse("chart:summary", kwargs={"patient_id": booked_patient.pk})
    response = client_for(staff["clinician"]).get(url)
    assert response.status_code == 200
    assert "Emergency access (break the glass)" not in response.content.decode()


def test_a_patient_booked_today_needs_no_emergency_access(client_for, staff, booked_patient):
    """The break-the-glass page agrees: no grant is offered or made for the day's patient."""
    from records.models import BreakGlassGrant

    AppointmentFactory(clinician=staff["clinician"], patient=booked_patient, starts_at=today_at(12))
    response = client_for(staff["clinician"]).post(
        f"/break-glass/{booked_patient.pk}/",
        {"password": "x", "reason_category": "emergency"},
    )
    assert response.status_code == 200
    assert b"No emergency access needed" in response.content
    assert not BreakGlassGrant.objects.using("owner").exists()
