"""Demo schedules and appointments, run by `manage.py seed_demo` (clinic/demo_hooks.py).

Both demo clinicians work weekdays 08:00-12:00 and 13:00-17:00 (clinic time); three appointment
types. A fortnight of appointments, the last seven days to the next seven, a dozen or so per
clinician per working day, each day's patients distinct: past days done, with some no-shows and
cancellations; coming days booked, a few cancelled. Today always has patients in every state
(done, seen, in room, arrived, no-show, booked), whatever the hour of seeding, so the demo front
desk's board and the demo clinician's "My day" show the flow; on a weekend today is an extra
session so the database's working-time rule still holds for what the demo books next.

Written through the owner connection (the write checks are the application roles'), after the
patients; the exclusion constraints hold as for any writer. Idempotent: nothing is added when
demo appointments exist. Deterministic for a seed, apart from today's date. Visit reasons are
obviously fake and encrypted like any.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.demo_hooks import register
from patients.models import PatientIdentity
from scheduling.models import Appointment, AppointmentType, ScheduleException, WorkingHours
from scheduling.slots import local_moment

OWNER = "owner"
DAYS_BACK = 7
DAYS_AHEAD = 7
SESSIONS = [(datetime.time(8), datetime.time(12)), (datetime.time(13), datetime.time(17))]
TYPES = [("Follow-up", 20), ("New patient", 40), ("Procedure", 60)]
TYPE_WEIGHTS = [70, 20, 10]
GAP_SHARE = 0.25  # a free quarter-hour between appointments, now and then
REASONS = ["routine check", "follow-up of results", "medication review", "new symptom", "forms"]
# Today's appointments, in order of their time: the first ones done, the next ones on their way.
TODAY_STATES = [
    Appointment.DONE,
    Appointment.DONE,
    Appointment.NO_SHOW,
    Appointment.SEEN,
    Appointment.IN_ROOM,
    Appointment.ARRIVED,
    Appointment.ARRIVED,
]


def _types() -> list[AppointmentType]:
    return [
        AppointmentType.objects.using(OWNER).get_or_create(
            name=name, defaults={"default_minutes": minutes}
        )[0]
        for name, minutes in TYPES
    ]


def _working_hours(clinicians: list[Any], today: datetime.date) -> None:
    for clinician in clinicians:
        if WorkingHours.objects.using(OWNER).filter(clinician=clinician).exists():
            continue
        WorkingHours.objects.using(OWNER).bulk_create(
            WorkingHours(clinician=clinician, weekday=day, starts_at=start, ends_at=end)
            for day in range(5)
            for start, end in SESSIONS
        )
        if today.weekday() >= 5:
            ScheduleException.objects.using(OWNER).bulk_create(
                ScheduleException(
                    clinician=clinician,
                    kind=ScheduleException.EXTRA_SESSION,
                    starts_at=local_moment(today, start),
                    ends_at=local_moment(today, end),
                    note="Demo extra session (fake data)",
                )
                for start, end in SESSIONS
            )


def _day_times(rng: random.Random, day: datetime.date, types: list[AppointmentType]):  # type: ignore[no-untyped-def]
    """(start, end, type) through the day's sessions, back to back with some gaps."""
    for start, end in SESSIONS:
        moment, session_end = local_moment(day, start), local_moment(day, end)
        while True:
            if rng.random() < GAP_SHARE:
                moment += datetime.timedelta(minutes=15)
            kind = rng.choices(types, weights=TYPE_WEIGHTS)[0]
            finish = moment + datetime.timedelta(minutes=kind.default_minutes)
            if finish > session_end:
                break
            yield moment, finish, kind
            moment = finish


def _stamp(appointment: Appointment, status: str, now: datetime.datetime, rng: random.Random):  # type: ignore[no-untyped-def]
    """Set `status` and its steps' times, none after `now`."""
    appointment.status = status
    if status == Appointment.CANCELLED:
        appointment.cancelled_at = min(now, appointment.starts_at - datetime.timedelta(hours=20))
        appointment.cancel_reason = rng.choice(["patient_request", "patient_illness", "other"])
        return
    if status == Appointment.NO_SHOW:
        appointment.no_show_at = min(now, appointment.ends_at)
        return
    if status == Appointment.BOOKED:
        return
    steps = [Appointment.ARRIVED, Appointment.IN_ROOM, Appointment.SEEN, Appointment.DONE]
    taken = steps[: steps.index(status) + 1]
    # In the past: around the appointment's own time; today's flow: leading up to now.
    moment = min(appointment.starts_at - datetime.timedelta(minutes=rng.randint(0, 10)), now)
    if appointment.starts_at > now - datetime.timedelta(hours=1):
        moment = now - datetime.timedelta(minutes=rng.randint(3, 25) * len(taken))
    for step in taken:
        setattr(appointment, Appointment.STAMPS[step], moment)
        moment = min(now, moment + datetime.timedelta(minutes=rng.randint(3, 20)))


def seed_appointments(command: Any, staff: dict, options: dict) -> int:
    clinicians = [staff["clinician"], staff["clinician2"]]
    now, today = timezone.now(), timezone.localdate()
    types = _types()
    _working_hours(clinicians, today)
    if Appointment.objects.using(OWNER).exists():
        return 0
    patients = list(
        PatientIdentity.objects.using(OWNER).order_by("patient_id").values_list("pk", flat=True)
    )
    if not patients:
        return 0
    rng = random.Random(int(options.get("seed") or 0))
    appointments: list[Appointment] = []
    for offset in range(-DAYS_BACK, DAYS_AHEAD + 1):
        day = today + datetime.timedelta(days=offset)
        if day.weekday() >= 5 and offset != 0:
            continue
        pool = patients[:]
        rng.shuffle(pool)
        for clinician in clinicians:
            for index, (start, end, kind) in enumerate(_day_times(rng, day, types)):
                if not pool:
                    break
                appointment = Appointment(
                    patient_id=pool.pop(),
                    clinician=clinician,
                    appointment_type=kind,
                    starts_at=start,
                    ends_at=end,
                    visit_reason=f"Demo reason (fake data): {rng.choice(REASONS)}",
                    booked_by=staff["frontdesk"],
                    created_at=min(now, start - datetime.timedelta(days=rng.randint(1, 30))),
                    updated_at=now,
                )
                if offset < 0:
                    roll = rng.random()
                    status = (
                        Appointment.NO_SHOW
                        if roll < 0.08
                        else Appointment.CANCELLED
                        if roll < 0.15
                        else Appointment.DONE
                    )
                elif offset == 0:
                    status = TODAY_STATES[index] if index < len(TODAY_STATES) else "booked"
                else:
                    status = Appointment.CANCELLED if rng.random() < 0.05 else Appointment.BOOKED
                _stamp(appointment, status, now, rng)
                appointments.append(appointment)
    with transaction.atomic(using=OWNER):
        Appointment.objects.using(OWNER).bulk_create(appointments, batch_size=1000)
    command.stdout.write(
        f"  appointments: {len(appointments)} over {DAYS_BACK + DAYS_AHEAD + 1} days"
    )
    return len(appointments)


@register
def seed_demo_appointments(command: Any, staff: dict, options: dict) -> None:
    seed_appointments(command, staff, options)
