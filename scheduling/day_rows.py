"""The day view's rows, each computed once in Python (issue 17 "Speed", docs/benchmarks.md).

A page of 5 clinicians is 125 appointments and their free time; rendered straight from the
model objects, each row reversed three URLs, converted each time to the clinic's clocks twice
or more, ran a loop over the steps asking `steps_now` once a step, and looked up attributes an
Appointment does not have (each a `dir()` of the object in the template engine): more than half
the page's time. Here each URL is reversed once per page with a placeholder id that each row
replaces by its own, each time is converted once, and the steps a row offers are a short list
the template only prints. What a row offers is the same rule as before: the role's steps
(`scheduling.forms.STEPS`) that the appointment may take now (`Appointment.steps_on`), moving
and cancelling for the front desk only.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from scheduling.free_time import FreeStretch
from scheduling.models import Appointment

PLACEHOLDER = uuid.UUID(int=0)


def url_for_each(name: str) -> Callable[[uuid.UUID], str]:
    """`reverse(name, appointment_id=...)` for many ids, reversing once: the id is a UUID
    path segment, so each row's URL is the placeholder's with the id put in its place."""
    pattern = reverse(name, kwargs={"appointment_id": PLACEHOLDER})
    return lambda appointment_id: pattern.replace(str(PLACEHOLDER), str(appointment_id))


def clock(moment: datetime.datetime) -> str:
    """HH:MM on the clinic's clocks (as the template filter `time:"H:i"` shows it)."""
    return timezone.localtime(moment).strftime("%H:%M")


@dataclass(frozen=True)
class AppointmentRow:
    times: str
    patient_name: str
    mrn: str
    type_name: str
    reason: str  # the clinician's own day only; the front desk may not read it
    status: str
    arrived: str
    needs_new_time: bool
    steps: tuple[tuple[str, str], ...]  # (status, button label) that may be taken now
    step_url: str  # "" when no step is offered
    reschedule_url: str  # "" when not offered
    cancel_url: str  # "" when not offered
    is_free = False


@dataclass(frozen=True)
class FreeRow:
    times: str
    starts: str
    minutes: int
    book_url: str
    is_free = True


STATUS_LABELS = dict(Appointment.STATUSES)
# All the front desk's day view reads of an appointment (its rows here, its free time in
# scheduling/free_time.py, its events in scheduling/flow.py `log_listed`): the rest of the row,
# the patient's other columns and the type's are not sent, nor turned into Python objects.
FRONT_DESK_ROW_FIELDS = (
    "clinician",
    "starts_at",
    "ends_at",
    "status",
    "arrived_at",
    "patient__first_name",
    "patient__last_name",
    "patient__mrn",
    "appointment_type__name",
)


def day_columns(
    columns: list[dict[str, Any]],
    *,
    steps: Sequence[tuple[str, str]],
    may_cancel: bool,
    shows_reason: bool,
) -> list[dict[str, Any]]:
    """`scheduling.free_time.calendar_columns`'s columns with each row ready to print:
    `steps` are the role's step choices (StepForm), `may_cancel` the front desk's moving and
    cancelling, `shows_reason` the clinician's visit reason."""
    today = timezone.localdate()
    step_url = url_for_each("scheduling:step")
    reschedule_url = url_for_each("scheduling:reschedule")
    cancel_url = url_for_each("scheduling:cancel")
    book_page = reverse("scheduling:book-from-calendar")
    labels = [
        (value, "Check in" if value == Appointment.ARRIVED else label) for value, label in steps
    ]

    def appointment_row(appointment: Appointment) -> AppointmentRow:
        starts = timezone.localtime(appointment.starts_at)
        now_possible = appointment.steps_on(today)
        patient = appointment.patient
        pk = appointment.appointment_id
        steps_now = tuple((value, label) for value, label in labels if value in now_possible)
        return AppointmentRow(
            times=f"{starts:%H:%M}–{clock(appointment.ends_at)}",
            patient_name=f"{patient.last_name}, {patient.first_name}",
            mrn=patient.mrn,
            type_name=appointment.appointment_type.name,
            reason=appointment.visit_reason if shows_reason else "",
            status=STATUS_LABELS.get(appointment.status, appointment.status),
            arrived=clock(appointment.arrived_at) if appointment.arrived_at else "",
            needs_new_time=bool(getattr(appointment, "needs_new_time", False)),
            steps=steps_now,
            step_url=step_url(pk) if steps_now else "",
            reschedule_url=(
                reschedule_url(pk)
                if may_cancel and appointment.status == Appointment.BOOKED
                else ""
            ),
            cancel_url=(
                cancel_url(pk)
                if may_cancel and Appointment.CANCELLED in appointment.next_steps
                else ""
            ),
        )

    def free_row(stretch: FreeStretch) -> FreeRow:
        starts = clock(stretch.starts_at)
        return FreeRow(
            times=f"{starts}–{clock(stretch.ends_at)}",
            starts=starts,
            minutes=stretch.minutes,
            book_url=stretch.book_url_on(book_page),
        )

    return [
        {
            "clinician": column["clinician"],
            "name": column["clinician"].get_full_name() or column["clinician"].get_username(),
            "rows": [
                free_row(row) if isinstance(row, FreeStretch) else appointment_row(row)
                for row in column["rows"]
            ],
        }
        for column in columns
    ]
