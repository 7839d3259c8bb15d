"""The front desk's home page: today at a glance (who is waiting, who is expected next, how the
day is going) beside a quick patient search.

Built from the same appointments the day list reads (scheduling/access.py, without the visit
reason), and logged the same way: one `appointments_listed` event per patient shown. The day's
figures are counted in SQL; only the rows shown (those waiting, the next few expected) are read,
with a list's columns of the patient (`listed()`), so a day of 1,250 appointments decrypts the
names of the few shown, not every patient's identity.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from patients.forms import PatientSearchForm
from scheduling.access import appointments_for
from scheduling.models import Appointment
from scheduling.slots import day_bounds

EXPECTED_SHOWN = 8
# A booked patient this many minutes past their time is shown as late.
LATE_AFTER = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class Row:
    appointment: Appointment
    minutes: int  # waiting since arrival, or late by, or until the start
    late: bool = False


def _minutes(delta: datetime.timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


def front_desk_today(request: HttpRequest) -> dict[str, object]:
    now = timezone.now()
    today = timezone.localdate(now)
    start, end = day_bounds(today)
    day = appointments_for(request).between(start, end)
    statuses = Counter(dict(day.order_by().values_list("status").annotate(n=Count("pk"))))
    waiting = [
        Row(a, _minutes(now - a.arrived_at))
        for a in day.listed()
        .filter(status=Appointment.ARRIVED, arrived_at__isnull=False)
        .order_by("starts_at")
        if a.arrived_at is not None
    ]
    expected = [
        Row(a, _minutes(abs(a.starts_at - now)), late=now - a.starts_at > LATE_AFTER)
        for a in day.listed()
        .filter(status=Appointment.BOOKED, ends_at__gt=now)
        .order_by("starts_at")[:EXPECTED_SHOWN]
    ]
    shown: set[uuid.UUID] = set()
    for row in [*waiting, *expected]:
        if row.appointment.patient_id not in shown:
            shown.add(row.appointment.patient_id)
            access_log.record(
                request,
                access_log.APPOINTMENTS_LISTED,
                patient_id=row.appointment.patient_id,
                object_id=row.appointment.pk,
            )
    return {
        "today": today,
        "waiting": waiting,
        "expected": expected,
        "figures": [
            ("Booked today", statuses.total() - statuses[Appointment.CANCELLED]),
            ("Still expected", statuses[Appointment.BOOKED]),
            ("In the clinic", statuses[Appointment.ARRIVED] + statuses[Appointment.IN_ROOM]),
            ("Seen", statuses[Appointment.SEEN] + statuses[Appointment.DONE]),
            ("No-shows", statuses[Appointment.NO_SHOW]),
        ],
        "search_form": PatientSearchForm(),
        # No count of the bookings to re-arrange here: the rule runs once per booked
        # appointment of the coming weeks (4.9 s at 50 clinicians, docs/benchmarks.md), too
        # much for the page the front desk opens most; the list counts them.
    }
