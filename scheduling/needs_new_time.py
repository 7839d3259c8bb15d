"""Bookings left outside their clinician's working time (issue 17): when the administrator
changes a clinician's hours from a day on, or adds time off, appointments already booked there
stay where they are, and the front desk re-arranges them.

The rule, once, in the database: an appointment *needs a new time* when it is `booked`, starts
after now, carries no override mark (an override is outside working time on purpose), and lies
outside its clinician's working time as it stands now: `NOT appointment_in_working_time(...)`,
the same function every booking and move is checked with (scheduling/db_checks.py).
`appointment_needs_new_time(...)` wraps it with those three conditions
(scheduling/db_needs_new_time.py); every reader calls it:

- the front desk's day and week views, as one more column of the query that already reads the
  appointments (`with_needs_new_time`: no statement per row);
- the front desk's list "Appointments to re-arrange" and its count on the home page
  (`to_rearrange`: the coming HORIZON_WEEKS weeks, every clinician);
- the administrator, who has no right on appointments, after saving hours or an exception:
  `appointments_needing_new_time(clinician)`, SECURITY DEFINER, a count for one clinician and
  nothing else, executable by the administrator's role only (`administrator_count`).

SECURITY INVOKER for the rule itself: it reads appointments' times and the schedule with the
caller's rights, which only the front desk holds among the web roles (a clinician may not read
working hours; it is not granted to them).
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet
from django.utils import timezone

from scheduling.db_schedule_versions import stale
from scheduling.models import Appointment, AppointmentQuerySet

# The front desk's list and its count: what is coming soon enough to ring the patient about.
# A bound, too: the rule is a function call per booked appointment in the range.
HORIZON_WEEKS = 8


class NeedsNewTime(Func):
    """`appointment_needs_new_time(status, override_reason, clinician_id, starts_at, ends_at)`
    of the row, asked only when the row may have left working time since it was checked (its
    schedule version is stale: scheduling/db_schedule_versions.py); false otherwise, which is
    the rule's own answer then, at a fraction of its cost."""

    function = "appointment_needs_new_time"
    template = f"(CASE WHEN {stale()} THEN %(function)s(%(expressions)s) ELSE false END)"
    output_field = BooleanField()

    def __init__(self) -> None:
        super().__init__(
            F("status"), F("override_reason"), F("clinician_id"), F("starts_at"), F("ends_at")
        )


def with_needs_new_time(appointments: AppointmentQuerySet) -> AppointmentQuerySet:
    """Each appointment with `needs_new_time`, in the same statement (the front desk's only)."""
    return appointments.annotate(needs_new_time=NeedsNewTime())


def to_rearrange(appointments: AppointmentQuerySet) -> QuerySet[Appointment]:
    """Those of the coming HORIZON_WEEKS weeks that need a new time, soonest first. The status
    and time bounds only narrow the index range; the rule is the function's."""
    now = timezone.now()
    return (
        appointments.filter(
            status=Appointment.BOOKED,
            starts_at__gt=now,
            starts_at__lt=now + datetime.timedelta(weeks=HORIZON_WEEKS),
        )
        .filter(NeedsNewTime())
        .order_by("starts_at", "clinician_id", "appointment_id")
    )


def administrator_count(clinician_id: int) -> int:
    """How many booked appointments of the clinician now need a new time (a number only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT appointments_needing_new_time(%s)", [clinician_id])
        return int(cursor.fetchone()[0])


def administrator_message(count: int, *, who: str | None = None) -> str:
    """What the administrator is told after changing a clinician's hours or exceptions: the
    number only (no patient, no time; the administrator may not see appointments). `who` names
    the clinician when one change touched several."""
    who = who or "this clinician"
    if count == 0:
        return f"No booked appointment of {who} is outside their working time now."
    booked = "1 booked appointment" if count == 1 else f"{count} booked appointments"
    return (
        f"{booked} of {who} now outside their working time "
        f"need{'s' if count == 1 else ''} a new time: the front desk finds them under "
        f"\u201cAppointments to re-arrange\u201d (those of the next {HORIZON_WEEKS} weeks) "
        "and on the day lists."
    )
