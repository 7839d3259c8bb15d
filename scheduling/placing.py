"""What every page that places an appointment in time does once its form is valid: booking
from the free times or outside working time, and moving an appointment (to a free time or
outside working time). One path, so the four pages answer the same way: the appointment's day
list with a message when it is placed; the refusal for the caller to show with fresh times
(HTTP 409) when another booking took the time first; back with a message when the appointment
moved on in between."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from scheduling.models import Appointment
from scheduling.services import SlotTaken, StepConflict

SLOT_TAKEN = "That time was booked a moment ago. Choose one of the free times below."
PATIENT_BUSY = "The patient already has an appointment at that time. Choose another time."
CLINICIAN_BUSY = "The clinician already has an appointment at that time. Choose another time."
MOVED_ON = "That appointment has already moved on; nothing was changed."


def day_url(day: datetime.date) -> str:
    return f"{reverse('scheduling:day')}?date={day}"


def day_url_for(appointment: Appointment) -> str:
    """The appointment's day list, at its clinician's page of the front desk's day view (the
    day view redirects to that page; ids only)."""
    day = timezone.localtime(appointment.starts_at).date()
    return f"{day_url(day)}&clinician={appointment.clinician_id}"


def refusal(taken: SlotTaken, *, otherwise: str = SLOT_TAKEN) -> str:
    """The message for a time another booking took: the patient's, or `otherwise`."""
    return PATIENT_BUSY if taken.patient_busy else otherwise


def place(
    request: HttpRequest, write: Callable[[], Appointment], *, success: str, back: str = ""
) -> HttpResponse | SlotTaken:
    """Run `write` (a service that books or moves); a redirect, or the SlotTaken to show."""
    try:
        appointment = write()
    except SlotTaken as taken:
        return taken
    except StepConflict:
        messages.error(request, MOVED_ON)
        return redirect(back)
    messages.success(request, success)
    return redirect(day_url_for(appointment))


def log_opened(request: HttpRequest, patient_id: uuid.UUID, object_id: object = "") -> None:
    """A placing page opened (GET) shows the patient: `chart_viewed`, as the summary does."""
    if request.method == "GET":
        access_log.record(
            request, access_log.CHART_VIEWED, patient_id=patient_id, object_id=object_id
        )
