"""Moving an appointment outside a clinician's working time (an override on a reschedule): the
front desk only, naming a reason category, never in time off; the mark stays only while the
time is outside working time (a move back into it clears it) and changes only with the time;
the move is logged twice (`appointment_rescheduled`, `appointment_override`). The page refuses
what the database refuses; the database is proven with raw SQL on the web login's connection
after a real request context. Working time: Mondays 09:00-10:00 (tests.factories.FUTURE_MONDAY).
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from scheduling.models import Appointment
from tests.db_helpers import in_request
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture(autouse=True)
def working_hours(staff):
    WorkingHoursFactory(clinician=staff["clinician"], ends_at=datetime.time(10))  # Mon 9-10


@pytest.fixture
def booked(staff):
    """An ordinary booking, 09:00-09:30, in working time."""
    return AppointmentFactory(clinician=staff["clinician"])


@pytest.fixture
def overridden(staff):
    """Booked outside working time, 07:00-07:30, for an urgent need."""
    return AppointmentFactory(
        clinician=staff["clinician"],
        starts_at=clinic_moment(FUTURE_MONDAY, 7),
        override_reason="urgent",
    )


def page_url(appointment) -> str:
    return reverse("scheduling:reschedule-outside-hours", kwargs={"appointment_id": appointment.pk})


def form(hour: int, minute: int = 0, reason: str = "patient_availability") -> dict:
    return {"date": FUTURE_MONDAY.isoformat(), "time": f"{hour:02d}:{minute:02d}",
            "override_reason": reason}  # fmt: skip


def stored(appointment) -> Appointment:
    return Appointment.objects.using("owner").get(pk=appointment.pk)


# --- the page -------------------------------------------------------------------------------


def test_front_desk_moves_an_overridden_appointment_to_another_time_outside(
    client_for, staff, overridden
):
    desk = client_for(staff["frontdesk"])
    assert desk.get(page_url(overridden)).status_code == 200
    [viewed] = events(access_log.CHART_VIEWED)
    assert (viewed.patient_id, viewed.object_id) == (overridden.patient_id, str(overridden.pk))
    response = desk.post(page_url(overridden), form(17, 30))
    assert response.status_code == 302
    back = f"?date={FUTURE_MONDAY}&clinician={overridden.clinician_id}"
    assert response["Location"] == reverse("scheduling:day") + back
    moved = stored(overridden)
    assert (moved.starts_at, moved.ends_at - moved.starts_at, moved.override_reason) == (
        clinic_moment(FUTURE_MONDAY, 17, 30),
        datetime.timedelta(minutes=30),
        "patient_availability",
    )
    [rescheduled] = events(access_log.APPOINTMENT_RESCHEDULED)
    [override] = events(access_log.APPOINTMENT_OVERRIDE)
    assert (override.object_id, override.reason, override.staff_id) == (
        str(overridden.pk),
        "patient_availability",
        staff["frontdesk"].pk,
    )
    assert rescheduled.object_id == override.object_id


def test_an_ordinary_booking_moves_outside_with_a_reason(client_for, staff, booked):
    response = client_for(staff["frontdesk"]).post(page_url(booked), form(7, reason="urgent"))
    assert response.status_code == 302
    assert (stored(booked).starts_at, stored(booked).override_reason) == (
        clinic_moment(FUTURE_MONDAY, 7),
        "urgent",
    )


def test_the_reschedule_page_links_to_moving_outside_working_time(client_for, staff, booked):
    body = client_for(staff["frontdesk"]).get(
        reverse("scheduling:reschedule", kwargs={"appointment_id": booked.pk})
    )
    assert page_url(booked).encode() in body.content


def test_moving_an_overridden_appointment_into_working_time_clears_the_mark(
    client_for, staff, overridden
):
    new_start = clinic_moment(FUTURE_MONDAY, 9, 15)
    response = client_for(staff["frontdesk"]).post(
        reverse("scheduling:reschedule", kwargs={"appointment_id": overridden.pk}),
        {"from_date": FUTURE_MONDAY.isoformat(),
         "starts_at": new_start.astimezone(datetime.UTC).isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    assert (stored(overridden).starts_at, stored(overridden).override_reason) == (new_start, "")
    assert events(access_log.APPOINTMENT_OVERRIDE) == []


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
def test_a_bad_move_is_a_form_error_and_nothing_moves(client_for, staff, overridden, data, message):
    response = client_for(staff["frontdesk"]).post(page_url(overridden), data)
    assert response.status_code == 200
    assert message in response.content
    assert (stored(overridden).starts_at, stored(overridden).override_reason) == (
        clinic_moment(FUTURE_MONDAY, 7),
        "urgent",
    )
    assert events(access_log.APPOINTMENT_RESCHEDULED) == []


def test_a_move_never_lands_in_time_off(client_for, staff, booked):
    ScheduleExceptionFactory(clinician=staff["clinician"],
                             starts_at=clinic_moment(FUTURE_MONDAY, 6),
                             ends_at=clinic_moment(FUTURE_MONDAY, 9))  # fmt: skip
    response = client_for(staff["frontdesk"]).post(page_url(booked), form(7))
    assert response.status_code == 200
    assert b"away then" in response.content
    assert stored(booked).starts_at == clinic_moment(FUTURE_MONDAY, 9)


def test_a_move_over_another_appointment_is_a_clear_409(client_for, staff, booked, overridden):
    response = client_for(staff["frontdesk"]).post(page_url(booked), form(7, 15))
    assert response.status_code == 409
    assert b"already has an appointment" in response.content
    assert stored(booked).starts_at == clinic_moment(FUTURE_MONDAY, 9)
    [event] = events(access_log.APPOINTMENT_RESCHEDULED)
    assert event.outcome == "slot_taken"


def test_an_appointment_under_way_is_not_moved(client_for, staff):
    arrived = AppointmentFactory(
        clinician=staff["clinician"], status="arrived", arrived_at=timezone.now()
    )
    response = client_for(staff["frontdesk"]).post(page_url(arrived), form(7), follow=True)
    assert b"already moved on" in response.content
    assert stored(arrived).starts_at == clinic_moment(FUTURE_MONDAY, 9)


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_the_move_page(client_for, staff, overridden, persona):
    client = client_for(staff[persona])
    assert client.get(page_url(overridden)).status_code == 403
    assert client.post(page_url(overridden), form(17)).status_code == 403
    assert stored(overridden).starts_at == clinic_moment(FUTURE_MONDAY, 7)
    refused = events(access_log.ACCESS_REFUSED)
    assert len(refused) == 2
    assert {event.patient_id for event in refused} == {overridden.patient_id}


def test_an_unknown_appointment_is_not_found(client_for, staff):
    missing = page_url(Appointment(appointment_id=uuid.uuid4()))
    assert client_for(staff["frontdesk"]).get(missing).status_code == 404


# --- the database ---------------------------------------------------------------------------

MOVE = (
    "UPDATE appointments SET starts_at = %s, ends_at = %s, override_reason = %s,"
    " updated_at = now() WHERE appointment_id = %s RETURNING override_reason"
)


def move(user, appointment, *, hour: int, reason: str) -> list:
    start = clinic_moment(FUTURE_MONDAY, hour)
    end = start + datetime.timedelta(minutes=30)
    return in_request(user, MOVE, [start, end, reason, str(appointment.pk)])


def test_front_desk_sql_may_move_outside_with_a_known_reason(staff, booked, overridden):
    """Not a blanket refusal: an ordinary booking to 17:00 and the overridden one to 06:00."""
    assert move(staff["frontdesk"], booked, hour=17, reason="urgent") == [("urgent",)]
    assert move(staff["frontdesk"], overridden, hour=6, reason="clinician_agreed") == [
        ("clinician_agreed",)
    ]


@pytest.mark.parametrize(
    "hour,reason,refusal",
    [
        (17, "", "outside the clinician's working time"),
        (17, "whim", "names a known reason"),
        (9, "urgent", "outside working time only"),
    ],
    ids=["no-reason", "unknown-reason", "override-inside-hours"],
)
def test_front_desk_sql_is_refused_a_bad_move(staff, overridden, hour, reason, refusal):
    with pytest.raises(DatabaseError, match=refusal):
        move(staff["frontdesk"], overridden, hour=hour, reason=reason)


def test_front_desk_sql_cannot_move_into_time_off(staff, overridden):
    ScheduleExceptionFactory(clinician=staff["clinician"],
                             starts_at=clinic_moment(FUTURE_MONDAY, 17),
                             ends_at=clinic_moment(FUTURE_MONDAY, 19))  # fmt: skip
    with pytest.raises(DatabaseError, match="time off"):
        move(staff["frontdesk"], overridden, hour=17, reason="urgent")


def test_the_mark_changes_only_with_the_time(staff, booked, overridden):
    for appointment, reason in ((booked, "urgent"), (overridden, "clinician_agreed"),
                                (overridden, "")):  # fmt: skip
        with pytest.raises(DatabaseError, match="changes only with the time"):
            in_request(
                staff["frontdesk"],
                "UPDATE appointments SET override_reason = %s, updated_at = now()"
                " WHERE appointment_id = %s RETURNING 1",
                [reason, str(appointment.pk)],
            )


def test_the_clinician_sql_cannot_move_their_appointment_outside(staff, overridden):
    with pytest.raises(DatabaseError, match="permission denied"):
        move(staff["clinician"], overridden, hour=17, reason="urgent")


def test_a_request_switched_to_the_front_desk_moves_nothing(staff, overridden):
    """The role gate hides the front desk's rows from a clinician's request that switches."""
    start = clinic_moment(FUTURE_MONDAY, 17)
    rows = in_request(staff["clinician"], MOVE,
                      [start, start + datetime.timedelta(minutes=30), "urgent",
                       str(overridden.pk)], switch_to="clinic_front_desk")  # fmt: skip
    assert rows == []
    assert stored(overridden).starts_at == clinic_moment(FUTURE_MONDAY, 7)
