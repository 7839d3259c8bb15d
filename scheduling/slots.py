"""Free slots: a clinician's working hours and extra sessions, minus time off, minus live
appointments (the clinician's and, when booking for one, the patient's).

Working hours are wall-clock times in the clinic's TIME_ZONE. Each day's session is placed on
that day with zoneinfo and then handled in UTC, so a session on the day clocks change has its
real length (a 00:00-04:00 session is 3 hours in spring, 5 in autumn) and slots on either side of
a change start at the same local time. Slots start every SLOT_STEP from the start of each free
stretch and must fit entirely in it; an appointment lies inside one session (the database
refuses any other, scheduling/db_checks.py), so touching sessions are not joined.
"""

from __future__ import annotations

import datetime
import functools
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q

from scheduling.models import Appointment, ScheduleException, WorkingHours

SLOT_STEP = datetime.timedelta(minutes=15)
UTC = datetime.UTC
Interval = tuple[datetime.datetime, datetime.datetime]


def clinic_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_moment(day: datetime.date, at: datetime.time) -> datetime.datetime:
    """`at` on `day` on the clinic's clocks, in UTC."""
    return datetime.datetime.combine(day, at, tzinfo=clinic_zone()).astimezone(UTC)


def day_bounds(day: datetime.date) -> Interval:
    """The clinic's `day`, midnight to midnight, in UTC (23 or 25 hours on a change)."""
    return local_moment(day, datetime.time(0)), local_moment(
        day + datetime.timedelta(days=1), datetime.time(0)
    )


@dataclass(frozen=True)
class Slot:
    starts_at: datetime.datetime
    ends_at: datetime.datetime

    @property
    def local_start(self) -> datetime.datetime:
        return self.starts_at.astimezone(clinic_zone())

    @property
    def value(self) -> str:
        """The form value: the UTC start, ISO 8601."""
        return self.starts_at.astimezone(UTC).isoformat()


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(available: list[Interval], taken: list[Interval]) -> list[Interval]:
    free: list[Interval] = []
    for start, end in available:
        cursor = start
        for busy_start, busy_end in taken:
            if busy_end <= cursor or busy_start >= end:
                continue
            if busy_start > cursor:
                free.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
        if cursor < end:
            free.append((cursor, end))
    return free


def _sessions(clinician_id: int, first: datetime.date, days: int) -> list[Interval]:
    hours: dict[int, list[WorkingHours]] = {}
    for row in WorkingHours.objects.filter(clinician_id=clinician_id):
        hours.setdefault(row.weekday, []).append(row)
    sessions = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        for row in hours.get(day.weekday(), []):
            if not row.in_force_on(day):
                continue
            sessions.append((local_moment(day, row.starts_at), local_moment(day, row.ends_at)))
    return sessions


# A limited search looks at its first week first (issue 17 "Speed": the booking page shows 12
# slots of 4 weeks). Every slot found there ends within the week, and any slot it could miss
# ends after the week, so starts after every one found: the week's slots are the first ones of
# the whole window, in order. Only when they are fewer than `limit` is the whole window read.
FIRST_LOOK_DAYS = 7


def free_slots(
    *,
    clinician_id: int,
    minutes: int,
    first_day: datetime.date,
    days: int,
    now: datetime.datetime,
    patient_id: object = None,
    ignore: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots of `minutes` for the clinician from the clinic's `first_day` for `days` days,
    none starting before `now`; `ignore` is an appointment being moved (its own time is free);
    with `limit`, the first `limit` of them, read from the first week alone when it has them."""
    search = functools.partial(
        _free_slots, clinician_id, minutes, first_day, now, patient_id, ignore
    )
    if limit is not None and days > FIRST_LOOK_DAYS:
        first = search(FIRST_LOOK_DAYS)
        if len(first) >= limit:
            return first[:limit]
    slots = search(days)
    return slots[:limit] if limit is not None else slots


def _free_slots(
    clinician_id: int,
    minutes: int,
    first_day: datetime.date,
    now: datetime.datetime,
    patient_id: object,
    ignore: uuid.UUID | None,
    days: int,
) -> list[Slot]:
    """Every free slot of the window (`free_slots`), each ending within it."""
    window = (day_bounds(first_day)[0], day_bounds(first_day + datetime.timedelta(days=days))[0])
    exceptions = ScheduleException.objects.filter(
        clinician_id=clinician_id, starts_at__lt=window[1], ends_at__gt=window[0]
    ).only("kind", "starts_at", "ends_at")
    extra = [(e.starts_at, e.ends_at) for e in exceptions if e.kind == e.EXTRA_SESSION]
    off = [(e.starts_at, e.ends_at) for e in exceptions if e.kind == e.TIME_OFF]
    # The clinician's live appointments and the patient's, in one statement.
    booked = Appointment.objects.live().between(*window)
    if ignore is not None:
        booked = booked.exclude(pk=ignore)
    whose = Q(clinician_id=clinician_id)
    if patient_id:
        whose |= Q(patient_id=patient_id)
    off += list(booked.filter(whose).values_list("starts_at", "ends_at"))

    # Each session on its own: an appointment lies inside one session, as the database checks
    # (scheduling/db_checks.py), never across two that happen to touch.
    taken = merge(off)
    length = datetime.timedelta(minutes=minutes)
    starts: set[datetime.datetime] = set()
    for session in _sessions(clinician_id, first_day, days) + extra:
        for start, end in subtract([session], taken):
            moment = max(start, window[0])
            while moment + length <= min(end, window[1]):
                if moment >= now:
                    starts.add(moment)
                moment += SLOT_STEP
    return [Slot(moment, moment + length) for moment in sorted(starts)]


def in_working_time(
    clinician_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime
) -> bool:
    """The database's own rule (`appointment_in_working_time`, scheduling/db_checks.py), asked
    as the user: inside one weekly session or extra session, and in no time off."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT appointment_in_working_time(%s, %s, %s)", [clinician_id, starts_at, ends_at]
        )
        row = cursor.fetchone()
    return bool(row and row[0])
