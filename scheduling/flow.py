"""Today's patient flow, shared by "My day" (the clinician's home) and the flow board: each
appointment's state and waiting time, and the access-log events of a list of appointments.

Waiting time is from arrival (check-in) to being taken into a room: while a patient waits it
grows with the clock; once in a room it is what they waited. Nobody waits before arriving or
after a cancellation.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from scheduling.access import appointments_for
from scheduling.models import Appointment
from scheduling.slots import day_bounds

# The session remembers which appointments' patients the board's refreshes have already logged
# today, so a board left open logs each patient once, not every few seconds (see board_rows).
BOARD_LOGGED_KEY = "scheduling_board_logged"


@dataclass(frozen=True)
class FlowRow:
    appointment: Appointment
    waiting_minutes: int | None
    still_waiting: bool

    @property
    def waiting_label(self) -> str:
        if self.waiting_minutes is None:
            return ""
        verb = "waiting" if self.still_waiting else "waited"
        return f"{verb} {self.waiting_minutes} min"


def waiting(appointment: Appointment, now: datetime.datetime) -> tuple[int | None, bool]:
    """(minutes waited from arrival to the room, still waiting now)."""
    if appointment.arrived_at is None:
        return None, False
    if appointment.in_room_at is not None:
        end, still = appointment.in_room_at, False
    elif appointment.status == Appointment.ARRIVED:
        end, still = now, True
    else:  # cancelled after arriving
        return None, False
    return max(0, int((end - appointment.arrived_at).total_seconds() // 60)), still


def todays_appointments(request: HttpRequest) -> list[Appointment]:
    """Today's appointments (the clinic's day) as the user's role may read them: a clinician's
    own, the front desk's every clinician's (without the visit reason)."""
    start, end = day_bounds(timezone.localdate())
    listed = appointments_for(request).listed().between(start, end)
    return list(listed.order_by("starts_at", "clinician_id"))


def flow_rows(appointments: Iterable[Appointment], now: datetime.datetime) -> list[FlowRow]:
    return [FlowRow(a, *waiting(a, now)) for a in appointments]


def log_listed(request: HttpRequest, appointments: Iterable[Appointment]) -> set[uuid.UUID]:
    """One `appointments_listed` event per patient shown (as patient search does); returns the
    appointments whose patient was logged."""
    logged_patients: set[uuid.UUID] = set()
    logged: set[uuid.UUID] = set()
    for appointment in appointments:
        logged.add(appointment.pk)
        if appointment.patient_id not in logged_patients:
            logged_patients.add(appointment.patient_id)
            access_log.record(
                request,
                access_log.APPOINTMENTS_LISTED,
                patient_id=appointment.patient_id,
                object_id=appointment.pk,
            )
    return logged


def log_board_refresh(request: HttpRequest, appointments: list[Appointment]) -> None:
    """A refresh of an open board logs only the patients this session's board has not logged
    today (a new booking, a walk-in); the full page logs every patient it shows."""
    today = timezone.localdate().isoformat()
    remembered = request.session.get(BOARD_LOGGED_KEY, {})
    seen = set(remembered.get(today, ()))
    seen_patients = {a.patient_id for a in appointments if str(a.pk) in seen}
    new = [a for a in appointments if str(a.pk) not in seen and a.patient_id not in seen_patients]
    if new:
        log_listed(request, new)
    remember_board(request, appointments)


def remember_board(request: HttpRequest, appointments: list[Appointment]) -> None:
    today = timezone.localdate().isoformat()
    remembered = request.session.get(BOARD_LOGGED_KEY, {})
    ids = sorted(set(remembered.get(today, ())) | {str(a.pk) for a in appointments})
    if remembered != {today: ids}:
        request.session[BOARD_LOGGED_KEY] = {today: ids}
