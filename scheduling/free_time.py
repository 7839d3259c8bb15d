"""Free time on the calendar: each clinician's free stretches of a day, for the day and week
views to link to the booking form (booking from the calendar, docs/scheduling.md).

The same rule as the free-slot search (scheduling/slots.py): weekly sessions on the clinic's
clocks and extra sessions, minus time off, minus live appointments, nothing before now; each
session on its own (an appointment lies inside one session). One query per table for every
clinician of the page, so a page of the day view costs two queries more (the day's appointments
are already read), not two a clinician.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

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
        return self.book_url_on(reverse("scheduling:book-from-calendar"))

    def book_url_on(self, page: str) -> str:
        """`book_url` with the booking page's path reversed once for many stretches."""
        at = self.starts_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
        return f"{page}?clinician={self.clinician_id}&at={at}"

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
    appointments: list[Appointment], day: datetime.date, *, clinicians: list | None = None
) -> list[dict]:
    """The day view's columns (`rows`: an Appointment or a FreeStretch each, in time order).
    With `clinicians` (the front desk's page of them, scheduling/day_pages.py): a column each,
    in that order, with their free stretches; `appointments` are theirs only. Without (a
    clinician's own day): a column per clinician with appointments, by name, no free time."""
    rows: dict[int, list[Appointment | FreeStretch]] = defaultdict(list)
    for appointment in appointments:
        rows[appointment.clinician_id].append(appointment)
    if clinicians is None:
        people = {a.clinician_id: a.clinician for a in appointments}
        clinicians = sorted(people.values(), key=lambda c: c.get_full_name() or c.get_username())
    else:
        free = free_stretches([c.pk for c in clinicians], day, appointments=appointments)
        for clinician_id, stretches in free.items():
            rows[clinician_id].extend(stretches)
    return [
        {"clinician": c, "rows": sorted(rows[c.pk], key=lambda r: r.starts_at)} for c in clinicians
    ]
