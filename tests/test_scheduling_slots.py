"""Free slots: working hours and extra sessions minus time off and live appointments, in the
clinic's zone (America/New_York), right on both daylight-saving changes of 2026 (8 March,
1 November). Every date is pinned and `now` is passed in: the tests hold at any hour."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction

from clinic import roles
from clinic.db_context import apply_context
from scheduling.slots import free_slots
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    ScheduleExceptionFactory,
    StaffFactory,
    WorkingHoursFactory,
    clinic_moment,
)

pytestmark = pytest.mark.usefixtures("clinic_db")
LONG_AGO = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
UTC = datetime.UTC


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def clinician():
    return StaffFactory(group=roles.CLINICIAN)


def slots(clinician, day, *, days=1, minutes=30, now=LONG_AGO, **options):
    """Free slots as the front desk's request sees them."""
    desk = StaffFactory(group=roles.FRONT_DESK)
    with transaction.atomic(using="default"):
        apply_context("clinic_front_desk", desk.pk)
        return free_slots(
            clinician_id=clinician.pk,
            minutes=minutes,
            first_day=day,
            days=days,
            now=now,
            **options,
        )


def starts(found) -> list[str]:
    return [slot.local_start.strftime("%a %H:%M") for slot in found]


def whole_hours(found) -> list[str]:
    return [slot.local_start.isoformat() for slot in found if slot.local_start.minute == 0]


def test_a_session_on_the_spring_change_is_three_hours_long(clinician):
    # Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT.
    WorkingHoursFactory(
        clinician=clinician, weekday=6, starts_at=datetime.time(0), ends_at=datetime.time(4)
    )
    found = slots(clinician, datetime.date(2026, 3, 8), minutes=60)
    assert whole_hours(found) == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
    ]
    assert found[0].starts_at == datetime.datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert found[-1].ends_at - found[0].starts_at == datetime.timedelta(hours=3)


def test_a_session_on_the_autumn_change_is_five_hours_long(clinician):
    # Sunday 1 November 2026: 02:00 EDT falls back to 01:00 EST; 01:00 happens twice.
    WorkingHoursFactory(
        clinician=clinician, weekday=6, starts_at=datetime.time(0), ends_at=datetime.time(4)
    )
    found = slots(clinician, datetime.date(2026, 11, 1), minutes=60)
    assert whole_hours(found) == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]
    assert found[-1].ends_at == datetime.datetime(2026, 11, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("friday", "friday_utc_hour", "monday_utc_hour"),
    [(datetime.date(2026, 3, 6), 14, 13), (datetime.date(2026, 10, 30), 13, 14)],
    ids=["spring", "autumn"],
)
def test_nine_oclock_stays_nine_oclock_across_a_change(
    clinician, friday, friday_utc_hour, monday_utc_hour
):
    for weekday in (0, 4):
        WorkingHoursFactory(clinician=clinician, weekday=weekday, ends_at=datetime.time(9, 30))
    found = slots(clinician, friday, days=4)
    assert starts(found) == ["Fri 09:00", "Mon 09:00"]
    assert [slot.starts_at.hour for slot in found] == [friday_utc_hour, monday_utc_hour]
    assert all(slot.starts_at.tzinfo is not None for slot in found)


def test_time_off_and_booked_appointments_are_not_offered(clinician):
    WorkingHoursFactory(clinician=clinician)  # Mondays 09:00-12:00
    ScheduleExceptionFactory(clinician=clinician)  # 10:00-11:00 off
    AppointmentFactory(clinician=clinician)  # 09:00-09:30
    found = slots(clinician, FUTURE_MONDAY)
    assert starts(found) == ["Mon 09:30", "Mon 11:00", "Mon 11:15", "Mon 11:30"]


def test_cancelled_and_no_show_appointments_free_their_time(clinician):
    WorkingHoursFactory(clinician=clinician, ends_at=datetime.time(10))
    AppointmentFactory(clinician=clinician, status="cancelled", cancel_reason="other")
    AppointmentFactory(
        clinician=clinician, status="no_show", starts_at=clinic_moment(FUTURE_MONDAY, 9, 30)
    )
    assert starts(slots(clinician, FUTURE_MONDAY)) == ["Mon 09:00", "Mon 09:15", "Mon 09:30"]


def test_an_extra_session_is_offered(clinician):
    tuesday = FUTURE_MONDAY + datetime.timedelta(days=1)
    ScheduleExceptionFactory(
        clinician=clinician,
        kind="extra_session",
        starts_at=clinic_moment(tuesday, 14),
        ends_at=clinic_moment(tuesday, 15),
    )
    assert starts(slots(clinician, tuesday)) == ["Tue 14:00", "Tue 14:15", "Tue 14:30"]


def test_the_patients_other_appointments_are_not_offered(clinician):
    WorkingHoursFactory(clinician=clinician, starts_at=datetime.time(11))
    elsewhere = AppointmentFactory(starts_at=clinic_moment(FUTURE_MONDAY, 11))  # another clinician
    assert starts(slots(clinician, FUTURE_MONDAY, patient_id=elsewhere.patient_id)) == ["Mon 11:30"]
    assert len(slots(clinician, FUTURE_MONDAY)) == 3  # 11:00, 11:15, 11:30


def test_slots_before_now_are_not_offered_and_the_limit_holds(clinician):
    WorkingHoursFactory(clinician=clinician)
    now = clinic_moment(FUTURE_MONDAY, 11, 10)
    assert starts(slots(clinician, FUTURE_MONDAY, now=now)) == ["Mon 11:15", "Mon 11:30"]
    assert starts(slots(clinician, FUTURE_MONDAY, limit=2)) == ["Mon 09:00", "Mon 09:15"]


def test_an_appointment_being_moved_does_not_block_its_own_time(clinician):
    WorkingHoursFactory(clinician=clinician, ends_at=datetime.time(9, 30))
    moving = AppointmentFactory(clinician=clinician)
    assert slots(clinician, FUTURE_MONDAY) == []
    assert starts(slots(clinician, FUTURE_MONDAY, ignore=moving.pk)) == ["Mon 09:00"]


def test_touching_sessions_are_not_joined(clinician):
    """An appointment lies inside one session (the database refuses any other)."""
    WorkingHoursFactory(clinician=clinician, starts_at=datetime.time(9), ends_at=datetime.time(10))
    WorkingHoursFactory(clinician=clinician, starts_at=datetime.time(10), ends_at=datetime.time(11))
    found = starts(slots(clinician, FUTURE_MONDAY, minutes=60))
    assert found == ["Mon 09:00", "Mon 10:00"]


def test_a_limited_search_reads_only_the_first_week_when_it_has_the_slots(clinician):
    """The booking page shows the first 12 slots of 4 weeks (issue 17 "Speed"): when the first
    week holds them, no statement reads past it."""
    WorkingHoursFactory(clinician=clinician)  # Mondays 09:00-12:00: twelve 15-minute slots
    AppointmentFactory(
        clinician=clinician, starts_at=clinic_moment(FUTURE_MONDAY + datetime.timedelta(14), 9)
    )
    reached: list[datetime.datetime] = []

    def watch(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        reached.extend(p for p in params or () if isinstance(p, datetime.datetime))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        found = slots(clinician, FUTURE_MONDAY, days=28, minutes=15, limit=12)
    assert len(found) == 12
    assert reached and max(reached) <= clinic_moment(FUTURE_MONDAY + datetime.timedelta(7), 0)
    assert found == slots(clinician, FUTURE_MONDAY, days=28, minutes=15)[:12]


def test_a_limited_search_reads_on_when_the_first_week_is_short(clinician):
    WorkingHoursFactory(clinician=clinician, ends_at=datetime.time(10))  # 4 slots a week
    found = slots(clinician, FUTURE_MONDAY, days=28, minutes=15, limit=12)
    assert starts(found) == ["Mon 09:00", "Mon 09:15", "Mon 09:30", "Mon 09:45"] * 3
    assert found[-1].starts_at.date() > FUTURE_MONDAY + datetime.timedelta(13)


@pytest.mark.parametrize("limit", [10, 11])
def test_a_slot_across_the_first_weeks_end_keeps_its_place(clinician, limit):
    """An extra session from Sunday night into the next Monday: the first week's ten slots
    are the whole search's first ten, and the eleventh (23:45, ending after the week) is
    found by reading on."""
    WorkingHoursFactory(clinician=clinician, ends_at=datetime.time(10))  # Mondays 09:00-10:00
    sunday = FUTURE_MONDAY + datetime.timedelta(6)
    ScheduleExceptionFactory(
        clinician=clinician,
        kind="extra_session",
        starts_at=clinic_moment(sunday, 22),
        ends_at=clinic_moment(sunday + datetime.timedelta(1), 2),
    )
    found = slots(clinician, FUTURE_MONDAY, days=28, limit=limit)
    assert found == slots(clinician, FUTURE_MONDAY, days=28)[:limit]
    sunday_night = [f"Sun {hour}:{minute:02}" for hour in (22, 23) for minute in (0, 15, 30, 45)]
    assert starts(found) == ["Mon 09:00", "Mon 09:15", "Mon 09:30", *sunday_night][:limit]
