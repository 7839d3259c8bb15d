"""Rescheduling (the service; its page is not built yet): a booked appointment moves to a new
time keeping its length, in the front desk's request, with its access-log event; a time taken
by another live appointment is refused by the exclusion constraint as SlotTaken; an appointment
already under way does not move."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, transaction
from django.test import RequestFactory
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
