"""Free time on the calendar: each clinician's free stretches of a day, for the day and week
views to link to the booking form (booking from the calendar, docs/scheduling.md).

The same rule as the free-slot search (scheduling/slots.py): weekly sessions on the clinic's
clocks and extra sessions, minus time off, minus live appointments, nothing before now; each
session on its own (an appointment lies inside one session). One query per table for every
clinician of the day, so the day view of 50 clinicians costs three queries more, not 150.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from clinic.staff import clinician_choices
from scheduling.models import Appointment, ScheduleException, WorkingHours
from scheduling.slots import Interval, day_bounds, local_moment, merge, subtract

# A stretch shorter than this is not offered (no appointment type is shorter).
SHORTEST = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class FreeStretch:
    clinician_id: int
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    is_free = True  # beside appointments in a calendar column

    @property
    def book_url(self) -> str:
        """The calendar's booking page for this time: ids and a UTC time only, never PHI."""
        at = self.starts_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
        return f"{reverse('scheduling:book-from-calendar')}?clinician={self.clinician_id}&at={at}"

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def free_stretches(
    clinician_ids: Iterable[int],
    day: datetime.date,
    *,
    now: datetime.datetime | None = None,
    appointments: Iterable[Appointment] | None = None,
) -> dict[int, list[FreeStretch]]:
    """Each clinician's free stretches on the clinic's `day`, from `now` on. `appointments` may
    pass the day's appointments already read (the day view has them), any status."""
    ids = sorted(set(clinician_ids))
    now = now or timezone.now()
    start, end = day_bounds(day)
    if not ids or end <= now:
        return {}
    sessions: dict[int, list[Interval]] = defaultdict(list)
    for row in WorkingHours.objects.filter(clinician_id__in=ids, weekday=day.weekday()):
        if not row.in_force_on(day):
            continue
        sessions[row.clinician_id].append(
            (local_moment(day, row.starts_at), local_moment(day, row.ends_at))
        )
    taken: dict[int, list[Interval]] = defaultdict(list)
    exceptions = ScheduleException.objects.filter(
        clinician_id__in=ids, starts_at__lt=end, ends_at__gt=start
    ).only("clinician_id", "kind", "starts_at", "ends_at")
    for exception in exceptions:
        target = sessions if exception.kind == exception.EXTRA_SESSION else taken
        target[exception.clinician_id].append((exception.starts_at, exception.ends_at))
    if appointments is None:
        appointments = Appointment.objects.filter(clinician_id__in=ids).between(start, end)
        appointments = appointments.only("clinician_id", "starts_at", "ends_at", "status")
    for appointment in appointments:
        if appointment.is_live:
            taken[appointment.clinician_id].append((appointment.starts_at, appointment.ends_at))
    stretches: dict[int, list[FreeStretch]] = {}
    for clinician_id in ids:
        busy = merge(taken[clinician_id] + [(start, max(start, now))])
        found = [
            FreeStretch(clinician_id, max(a, start), min(b, end))
            for session in sessions[clinician_id]
            for a, b in subtract([session], busy)
            if min(b, end) - max(a, start) >= SHORTEST
        ]
        if found:
            stretches[clinician_id] = sorted(found, key=lambda s: s.starts_at)
    return stretches


def calendar_columns(
    appointments: list[Appointment], day: datetime.date, *, with_free_time: bool
) -> list[dict]:
    """The day view's columns, one per clinician by name: their appointments and, for the front
    desk, their free stretches, in time order (`rows`: an Appointment or a FreeStretch each).
    With free time, every active clinician with free time left that day has a column."""
    clinicians = {a.clinician_id: a.clinician for a in appointments}
    free: dict[int, list[FreeStretch]] = {}
    if with_free_time:
        active = {c.pk: c for c in clinician_choices()}
        clinicians.update(active)
        free = free_stretches(active, day, appointments=appointments)
    rows: dict[int, list[Appointment | FreeStretch]] = defaultdict(list)
    for appointment in appointments:
        rows[appointment.clinician_id].append(appointment)
    for clinician_id, stretches in free.items():
        rows[clinician_id].extend(stretches)
    columns = [
        {"clinician": clinicians[clinician_id], "rows": sorted(found, key=lambda r: r.starts_at)}
        for clinician_id, found in rows.items()
    ]
    return sorted(
        columns, key=lambda c: c["clinician"].get_full_name() or c["clinician"].get_username()
    )
