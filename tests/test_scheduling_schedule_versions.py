"""The rule "needs a new time" runs only for bookings whose clinician's schedule changed after
they were checked (scheduling/db_schedule_versions.py). What must hold: a booking checked
through the application records the version it was checked against; any change to the
clinician's hours or time off makes it stale, so the rule flags it when it is outside; no web
role can mark a booking as checked or move a version, and only the front desk and the clinician
(whose writes the check runs for) can read one through clinic_schedule_version() (the attacker's
raw SQL, refused)."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connections, transaction

from clinic.db_context import apply_context
from clinic.staff import database_role_for
from scheduling.models import Appointment, WorkingHours
from scheduling.needs_new_time import to_rearrange
from tests.db_helpers import request_cursor, run_as
from tests.factories import (
    FUTURE_MONDAY,
    PatientFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
)
from tests.test_scheduling_database import INSERT, inject, insert_params

pytestmark = pytest.mark.usefixtures("clinic_db")

VERSION = "SELECT version FROM clinician_schedule_versions WHERE clinician_id = %s"
# The write check's read, as a web role would call it.
VERSION_OF = "SELECT clinic_schedule_version(%s)"


def recorded(appointment_id) -> int | None:
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT schedule_version FROM appointments WHERE appointment_id = %s",
            [appointment_id],
        )
        return cursor.fetchone()[0]


def current(clinician) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute(VERSION, [clinician.pk])
        row = cursor.fetchone()
    return 0 if row is None else row[0]


def book(staff, start: datetime.datetime) -> str:
    params = insert_params(
        patient=PatientFactory(), clinician=staff["clinician"], booked_by=staff["frontdesk"],
        start=start,
    )  # fmt: skip
    assert inject(staff["frontdesk"], INSERT, params) == 1
    return params[0]


def flagged(staff) -> list[str]:
    """The appointments the front desk's list finds, as the front desk."""
    desk = staff["frontdesk"]
    with transaction.atomic(using="default"):
        apply_context(database_role_for(desk), desk.pk)
        found = to_rearrange(Appointment.objects.all()).values_list("pk", flat=True)
        rows = [str(pk) for pk in found]
        transaction.set_rollback(True, using="default")
    return rows


@pytest.fixture
def monday_hours(staff):
    return WorkingHoursFactory(
        clinician=staff["clinician"], starts_at=datetime.time(8), ends_at=datetime.time(18)
    )


def test_every_schedule_write_moves_the_clinicians_version(staff, monday_hours):
    first = current(staff["clinician"])
    assert first >= 1  # the hours' insert
    ScheduleExceptionFactory(clinician=staff["clinician"])
    assert current(staff["clinician"]) == first + 1
    WorkingHours.objects.using("owner").filter(pk=monday_hours.pk).update(ends_at=datetime.time(17))
    assert current(staff["clinician"]) == first + 2
    assert current(staff["clinician2"]) == 0


def test_a_booking_records_the_version_it_was_checked_against(staff, monday_hours):
    booking = book(staff, clinic_moment(FUTURE_MONDAY, 9))
    assert recorded(booking) == current(staff["clinician"])
    assert flagged(staff) == []


@pytest.mark.parametrize("change", ["hours cut", "time off"])
def test_a_change_after_the_check_makes_the_rule_flag_it(staff, monday_hours, change):
    booking = book(staff, clinic_moment(FUTURE_MONDAY, 16))
    if change == "hours cut":
        WorkingHours.objects.using("owner").filter(pk=monday_hours.pk).update(
            ends_at=datetime.time(12)
        )
    else:
        ScheduleExceptionFactory(
            clinician=staff["clinician"],
            starts_at=clinic_moment(FUTURE_MONDAY, 15),
            ends_at=clinic_moment(FUTURE_MONDAY, 17),
        )
    assert recorded(booking) != current(staff["clinician"])
    assert flagged(staff) == [booking]


def test_the_front_desk_cannot_mark_a_booking_as_checked(staff, monday_hours):
    booking = book(staff, clinic_moment(FUTURE_MONDAY, 16))
    ScheduleExceptionFactory(
        clinician=staff["clinician"],
        starts_at=clinic_moment(FUTURE_MONDAY, 15),
        ends_at=clinic_moment(FUTURE_MONDAY, 17),
    )
    now = current(staff["clinician"])
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(
            staff["frontdesk"],
            "UPDATE appointments SET schedule_version = %s WHERE appointment_id = %s",
            [now, booking],
        )
    # A version sent with a new booking is the check's, not the sender's.
    params = insert_params(
        patient=PatientFactory(), clinician=staff["clinician"], booked_by=staff["frontdesk"],
        start=clinic_moment(FUTURE_MONDAY, 10),
    )  # fmt: skip
    forged = INSERT.replace("updated_at)", "updated_at, schedule_version)").replace(
        "now(), now())", "now(), now(), 999999)"
    )
    assert inject(staff["frontdesk"], forged, params) == 1
    assert recorded(params[0]) == current(staff["clinician"])
    assert flagged(staff) == [booking]


@pytest.mark.parametrize("who", ["frontdesk", "clinician", "admin", "analyst", "privacy"])
def test_no_web_role_moves_a_version(staff, monday_hours, who):
    before = current(staff["clinician"])
    for statement in (
        "UPDATE clinician_schedule_versions SET version = version + 1",
        "DELETE FROM clinician_schedule_versions",
        f"INSERT INTO clinician_schedule_versions VALUES ({staff['clinician2'].pk}, 5)",
    ):
        with pytest.raises(DatabaseError, match="permission denied"):
            inject(staff[who], statement)
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(staff[who], "SELECT schedule_version_bump()")
    assert current(staff["clinician"]) == before


@pytest.mark.parametrize("who", ["frontdesk", "clinician"])
def test_the_front_desk_and_the_clinician_may_read_a_version(staff, monday_hours, who):
    [(version,)] = inject(staff[who], VERSION_OF, [staff["clinician"].pk])
    assert isinstance(version, int) and version == current(staff["clinician"]) >= 1
    assert inject(staff[who], VERSION_OF, [staff["clinician2"].pk]) == [(0,)]


@pytest.mark.parametrize("who", ["analyst", "privacy", "admin", "outsider"])
def test_no_other_role_may_read_a_version(staff, monday_hours, who):
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(staff[who], VERSION_OF, [staff["clinician"].pk])


def test_the_bare_web_login_may_not_read_a_version(staff, monday_hours):
    """Before sign-in, and after `RESET ROLE` injected into the front desk's own request."""
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(None, VERSION_OF, [staff["clinician"].pk])
    with (
        pytest.raises(DatabaseError, match="permission denied"),
        request_cursor(staff["frontdesk"], reset_role=True) as cursor,
    ):
        cursor.execute(VERSION_OF, [staff["clinician"].pk])
