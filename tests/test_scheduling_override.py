"""Booking outside a clinician's working time (an override): the front desk only, naming a
reason category, never in time off; who (`booked_by`) and why (`override_reason`) are kept for
good and the booking is logged twice (`appointment_booked`, `appointment_override`). The page
refuses what the database refuses; the database is proven with raw SQL on the web login's
connection after a real request context. Working time: Mondays 09:00-10:00
(tests.factories.FUTURE_MONDAY)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.urls import reverse

from clinic import access_log
from clinic.encryption import encrypt_value
from scheduling.models import Appointment
from tests.db_helpers import in_request
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def setup(staff, patient):
    WorkingHoursFactory(clinician=staff["clinician"], ends_at=datetime.time(10))  # Mon 9-10
    return {"patient": patient, "type": AppointmentTypeFactory()}


def url(staff, setup) -> str:
    page = reverse("scheduling:book-outside-hours", kwargs={"patient_id": setup["patient"].pk})
    return f"{page}?clinician={staff['clinician'].pk}&appointment_type={setup['type'].pk}"


def form(hour: int, minute: int = 0, reason: str = "urgent") -> dict:
    return {
        "date": FUTURE_MONDAY.isoformat(),
        "time": f"{hour:02d}:{minute:02d}",
        "override_reason": reason,
        "visit_reason": "Fake: early visit",
    }


def test_front_desk_books_outside_working_time_with_a_reason(client_for, staff, setup):
    client = client_for(staff["frontdesk"])
    assert client.get(url(staff, setup)).status_code == 200
    response = client.post(url(staff, setup), form(7, 30))
    assert response.status_code == 302
    back = f"?date={FUTURE_MONDAY}&clinician={staff['clinician'].pk}"
    assert response["Location"] == reverse("scheduling:day") + back
    stored = Appointment.objects.using("owner").get()
    assert stored.starts_at == clinic_moment(FUTURE_MONDAY, 7, 30)
    assert (stored.override_reason, stored.booked_by_id) == ("urgent", staff["frontdesk"].pk)
    [booked] = events(access_log.APPOINTMENT_BOOKED)
    [override] = events(access_log.APPOINTMENT_OVERRIDE)
    assert (override.patient_id, override.object_id, override.reason) == (
        setup["patient"].pk,
        str(stored.pk),
        "urgent",
    )
    assert booked.object_id == override.object_id


@pytest.mark.parametrize(
    "data,message",
    [
        (form(9, 15), b"within the clinician&#x27;s working time"),
        (form(7, reason=""), b"This field is required"),
        (form(7, reason="because"), b"Select a valid choice"),
        ({**form(7), "date": "2020-01-06"}, b"Choose a time to come"),
    ],
    ids=["inside-working-time", "no-reason", "unknown-reason", "past"],
)
def test_a_bad_override_is_a_form_error_and_nothing_is_booked(
    client_for, staff, setup, data, message
):
    response = client_for(staff["frontdesk"]).post(url(staff, setup), data)
    assert response.status_code == 200
    assert message in response.content
    assert not Appointment.objects.using("owner").exists()
    assert not events(access_log.APPOINTMENT_OVERRIDE)


def test_an_override_never_lands_in_time_off(client_for, staff, setup):
    ScheduleExceptionFactory(
        clinician=staff["clinician"],
        starts_at=clinic_moment(FUTURE_MONDAY, 6),
        ends_at=clinic_moment(FUTURE_MONDAY, 9),
    )
    response = client_for(staff["frontdesk"]).post(url(staff, setup), form(7))
    assert response.status_code == 200
    assert b"away then" in response.content
    assert not Appointment.objects.using("owner").exists()


def test_an_override_over_another_appointment_is_a_clear_409(client_for, staff, setup):
    AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 7))
    response = client_for(staff["frontdesk"]).post(url(staff, setup), form(7, 15))
    assert response.status_code == 409
    assert b"already has an appointment" in response.content
    assert Appointment.objects.using("owner").count() == 1


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_the_override_page(client_for, staff, setup, persona):
    response = client_for(staff[persona]).post(url(staff, setup), form(7))
    assert response.status_code == 403
    assert not Appointment.objects.using("owner").exists()
    assert events(access_log.ACCESS_REFUSED)


# --- the database ---------------------------------------------------------------------------

INSERT = (
    "INSERT INTO appointments (appointment_id, patient_id, clinician_id, appointment_type_id,"
    " starts_at, ends_at, status, cancel_reason, override_reason, visit_reason, booked_by_id,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'booked', '', %s, %s, %s,"
    " now(), now()) RETURNING override_reason"
)


def params(staff, setup, *, hour: int, reason: str, booked_by=None) -> list:
    start = clinic_moment(FUTURE_MONDAY, hour)
    return [
        str(uuid.uuid4()),
        str(setup["patient"].pk),
        staff["clinician"].pk,
        setup["type"].pk,
        start,
        start + datetime.timedelta(minutes=30),
        reason,
        encrypt_value("Fake reason", "appointments.visit_reason"),
        (booked_by or staff["frontdesk"]).pk,
    ]


def test_front_desk_sql_may_override_with_a_known_reason(staff, setup):
    """The rule is not a blanket refusal: the front desk's own SQL books 07:00 with a reason."""
    rows = in_request(staff["frontdesk"], INSERT, params(staff, setup, hour=7, reason="urgent"))
    assert rows == [("urgent",)]


@pytest.mark.parametrize(
    "hour,reason,refusal",
    [
        (7, "", "outside the clinician's working time"),
        (7, "whim", "names a known reason"),
        (9, "urgent", "outside working time only"),
    ],
    ids=["no-override", "unknown-reason", "override-inside-hours"],
)
def test_front_desk_sql_is_refused_a_bad_override(staff, setup, hour, reason, refusal):
    with pytest.raises(DatabaseError, match=refusal):
        in_request(staff["frontdesk"], INSERT, params(staff, setup, hour=hour, reason=reason))


def test_front_desk_sql_cannot_override_into_time_off(staff, setup):
    ScheduleExceptionFactory(
        clinician=staff["clinician"],
        starts_at=clinic_moment(FUTURE_MONDAY, 6),
        ends_at=clinic_moment(FUTURE_MONDAY, 8),
    )
    with pytest.raises(DatabaseError, match="time off"):
        in_request(staff["frontdesk"], INSERT, params(staff, setup, hour=7, reason="urgent"))


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin"])
def test_other_roles_sql_cannot_book_outside_working_time(staff, setup, persona):
    data = params(staff, setup, hour=7, reason="urgent", booked_by=staff[persona])
    with pytest.raises(DatabaseError, match="permission denied|row-level security"):
        in_request(staff[persona], INSERT, data)


def test_an_analyst_request_switched_to_the_front_desk_cannot_override(staff, setup):
    """The role gate hides the front desk's tables from it: the write check finds no type."""
    data = params(staff, setup, hour=7, reason="urgent", booked_by=staff["analyst"])
    with pytest.raises(DatabaseError, match="row-level security|an active type"):
        in_request(staff["analyst"], INSERT, data, switch_to="clinic_front_desk")


def test_the_override_changes_only_with_the_time_and_a_move_out_of_hours_needs_one(staff, setup):
    """Moving with a reason: tests/test_scheduling_override_move.py."""
    booked = AppointmentFactory(clinician=staff["clinician"], patient=setup["patient"])
    with pytest.raises(DatabaseError, match="changes only with the time"):
        in_request(
            staff["frontdesk"],
            "UPDATE appointments SET override_reason = 'urgent', updated_at = now()"
            " WHERE appointment_id = %s RETURNING 1",
            [str(booked.pk)],
        )
    moved = clinic_moment(FUTURE_MONDAY, 7)
    with pytest.raises(DatabaseError, match="outside the clinician's working time"):
        in_request(
            staff["frontdesk"],
            "UPDATE appointments SET starts_at = %s, ends_at = %s, updated_at = now()"
            " WHERE appointment_id = %s RETURNING 1",
            [moved, moved + datetime.timedelta(minutes=30), str(booked.pk)],
        )
