"""Rescheduling: a booked appointment moves to a new time keeping its length, in the front
desk's request, with its access-log event; a time taken by another live appointment is refused
by the exclusion constraint as SlotTaken; an appointment already under way does not move. The
page offers the clinician's free times (its own time counts as free), refuses any other time
with a message and changes nothing; other roles are refused and logged."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from clinic.db_context import apply_context
from scheduling.models import Appointment
from scheduling.services import SlotTaken, StepConflict, appointment_reschedule
from tests.factories import FUTURE_MONDAY, AppointmentFactory, WorkingHoursFactory, clinic_moment
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture(autouse=True)
def working_hours(staff):
    """Mondays 08:00-18:00: every time below is in working time."""
    WorkingHoursFactory(
        clinician=staff["clinician"], starts_at=datetime.time(8), ends_at=datetime.time(18)
    )


def reschedule(desk, appointment, starts_at) -> str:
    """As the front desk's request would: the outcome, its event committed either way."""
    request = RequestFactory().post("/")
    request.user = desk
    with transaction.atomic(using="default"):
        apply_context("clinic_front_desk", desk.pk)
        try:
            appointment_reschedule(request=request, appointment=appointment, starts_at=starts_at)
        except SlotTaken:
            return "taken"
        except StepConflict:
            return "conflict"
    return "moved"


def test_a_booked_appointment_moves_and_keeps_its_length(staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    new_start = clinic_moment(FUTURE_MONDAY, 11)
    assert reschedule(staff["frontdesk"], appointment, new_start) == "moved"
    moved = Appointment.objects.using("owner").get()
    assert (moved.starts_at, moved.ends_at - moved.starts_at) == (
        new_start,
        datetime.timedelta(minutes=30),
    )
    [event] = events(access_log.APPOINTMENT_RESCHEDULED)
    assert (event.object_id, event.outcome) == (str(appointment.pk), "ok")


def test_a_time_taken_by_another_appointment_is_refused(staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 11))
    assert reschedule(staff["frontdesk"], appointment, clinic_moment(FUTURE_MONDAY, 11, 15)) == (
        "taken"
    )
    assert Appointment.objects.using("owner").get(pk=appointment.pk).starts_at == (
        clinic_moment(FUTURE_MONDAY, 9)
    )
    [event] = events(access_log.APPOINTMENT_RESCHEDULED)
    assert event.outcome == "slot_taken"


def test_an_appointment_under_way_does_not_move(staff):
    appointment = AppointmentFactory(
        clinician=staff["clinician"], status="arrived", arrived_at=timezone.now()
    )
    assert reschedule(staff["frontdesk"], appointment, clinic_moment(FUTURE_MONDAY, 11)) == (
        "conflict"
    )
    assert events(access_log.APPOINTMENT_RESCHEDULED) == []


def test_the_database_refuses_moving_into_the_past(staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    past = timezone.now() - datetime.timedelta(days=1)
    with pytest.raises(DatabaseError, match="time to come"):
        reschedule(staff["frontdesk"], appointment, past)


def page_url(appointment) -> str:
    return reverse("scheduling:reschedule", kwargs={"appointment_id": appointment.pk})


def test_the_front_desk_moves_an_appointment_on_its_page(client_for, staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])  # 09:00-09:30
    AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 10))
    desk = client_for(staff["frontdesk"])
    page = desk.get(page_url(appointment), {"from_date": FUTURE_MONDAY.isoformat()})
    assert page.status_code == 200
    body = page.content.decode()
    # Its own time and the next quarter are free (it is the one moving); 10:00 is taken.
    assert f"{FUTURE_MONDAY:%Y-%m-%d} 09:00" in body and f"{FUTURE_MONDAY:%Y-%m-%d} 09:15" in body
    assert f"{FUTURE_MONDAY:%Y-%m-%d} 10:00" not in body
    assert "Fake reason" not in body
    [viewed] = events(access_log.CHART_VIEWED)
    assert viewed.patient_id == appointment.patient_id
    new_start = clinic_moment(FUTURE_MONDAY, 11, 15)
    response = desk.post(
        page_url(appointment),
        {
            "from_date": FUTURE_MONDAY.isoformat(),
            "starts_at": new_start.astimezone(datetime.UTC).isoformat(),
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?date={FUTURE_MONDAY}&clinician={staff['clinician'].pk}")
    moved = Appointment.objects.using("owner").get(pk=appointment.pk)
    assert (moved.starts_at, moved.ends_at) == (
        new_start,
        new_start + datetime.timedelta(minutes=30),
    )
    [event] = events(access_log.APPOINTMENT_RESCHEDULED)
    assert (event.object_id, event.outcome, event.staff_id) == (
        str(appointment.pk),
        "ok",
        staff["frontdesk"].pk,
    )


def test_a_time_not_offered_is_a_form_error_and_nothing_moves(client_for, staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    taken = AppointmentFactory(
        clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 10)
    )
    desk = client_for(staff["frontdesk"])
    for moment in (taken.starts_at, clinic_moment(FUTURE_MONDAY, 20), timezone.now()):
        response = desk.post(
            page_url(appointment),
            {"from_date": FUTURE_MONDAY.isoformat(), "starts_at": moment.isoformat()},
        )
        assert response.status_code == 200
        assert b"That time is no longer free" in response.content
    assert Appointment.objects.using("owner").get(pk=appointment.pk).starts_at == (
        clinic_moment(FUTURE_MONDAY, 9)
    )
    assert events(access_log.APPOINTMENT_RESCHEDULED) == []


def test_an_appointment_under_way_has_no_reschedule_page(client_for, staff):
    appointment = AppointmentFactory(
        clinician=staff["clinician"], status="arrived", arrived_at=timezone.now()
    )
    response = client_for(staff["frontdesk"]).get(page_url(appointment), follow=True)
    assert b"already moved on" in response.content
    assert events(access_log.CHART_VIEWED) == []


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_only_the_front_desk_reschedules(client_for, staff, persona):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    client = client_for(staff[persona])
    assert client.get(page_url(appointment)).status_code == 403
    other_time = clinic_moment(FUTURE_MONDAY, 11).astimezone(datetime.UTC).isoformat()
    assert client.post(page_url(appointment), {"starts_at": other_time}).status_code == 403
    assert Appointment.objects.using("owner").get(pk=appointment.pk).starts_at == (
        clinic_moment(FUTURE_MONDAY, 9)
    )
    assert len(events(access_log.ACCESS_REFUSED)) == 2


def test_an_unknown_appointment_is_not_found(client_for, staff):
    import uuid

    missing = reverse("scheduling:reschedule", kwargs={"appointment_id": uuid.uuid4()})
    assert client_for(staff["frontdesk"]).get(missing).status_code == 404
