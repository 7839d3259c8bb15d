"""Changing a clinician's working hours keeps the past (scheduling/db_hours.py, the admin's
"Apply from", scheduling/admin.py): hours in force before today are never edited in place or
deleted, only ended from yesterday on, and new hours start today or later. Past months'
availability (analytics) and past bookings' working-time check read those rows.

The database's rule is shown with the administrator's own raw SQL (the only role with rights on
the table); the admin pages with the administrator's browser requests."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError
from django.utils import timezone

from scheduling.models import WorkingHours
from tests.db_helpers import in_request
from tests.factories import WorkingHoursFactory

pytestmark = pytest.mark.usefixtures("clinic_db")

DAY = datetime.timedelta(days=1)
UPDATE = "UPDATE working_hours SET {} WHERE id = %s RETURNING id"


def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def past_hours(staff):
    """Mondays 09:00-12:00, in force for a month already."""
    return WorkingHoursFactory(clinician=staff["clinician"], valid_from=today() - 30 * DAY)


@pytest.mark.parametrize(
    "change",
    [
        "ends_at = '13:00'",
        "starts_at = '08:00'",
        "weekday = 1",
        "valid_from = %s::date - 60",
        "valid_until = %s::date - 2",
    ],
)
def test_hours_in_force_before_today_are_never_rewritten(staff, past_hours, change):
    params = [today()] if "%s" in change else []
    with pytest.raises(DatabaseError, match="working hours"):
        in_request(staff["admin"], UPDATE.format(change), [*params, past_hours.pk])
    assert WorkingHours.objects.using("owner").get(pk=past_hours.pk).ends_at == datetime.time(12)


def test_hours_in_force_before_today_are_never_deleted(staff, past_hours):
    with pytest.raises(DatabaseError, match="never deleted"):
        in_request(staff["admin"], "DELETE FROM working_hours WHERE id = %s", [past_hours.pk])
    assert WorkingHours.objects.using("owner").filter(pk=past_hours.pk).exists()


@pytest.mark.parametrize("first_day", [None, -1, -30])
def test_new_hours_never_reach_into_the_past(staff, first_day):
    valid_from = None if first_day is None else today() + first_day * DAY
    with pytest.raises(DatabaseError, match="start today or later"):
        in_request(
            staff["admin"],
            "INSERT INTO working_hours (clinician_id, weekday, starts_at, ends_at, valid_from) "
            "VALUES (%s, 0, '09:00', '12:00', %s) RETURNING id",
            [staff["clinician"].pk, valid_from],
        )


def test_hours_in_force_end_from_yesterday_on_once(staff, past_hours):
    """(Each statement runs in its own rolled-back request.)"""
    yesterday = today() - DAY
    assert in_request(
        staff["admin"], UPDATE.format("valid_until = %s"), [yesterday, past_hours.pk]
    ) == [(past_hours.pk,)]
    # Ended: it stays ended (re-opening it would give the days since back their hours).
    ended = WorkingHoursFactory(
        clinician=staff["clinician"], weekday=1, valid_from=today() - 30 * DAY,
        valid_until=yesterday,
    )  # fmt: skip
    for until in ("NULL", "%s::date + 10"):
        params = [today()] if "%s" in until else []
        with pytest.raises(DatabaseError, match="stays ended"):
            in_request(staff["admin"], UPDATE.format(f"valid_until = {until}"), [*params, ended.pk])


def test_hours_not_yet_in_force_change_and_go_freely(staff):
    coming = WorkingHoursFactory(clinician=staff["clinician"], valid_from=today() + 7 * DAY)
    assert in_request(staff["admin"], UPDATE.format("ends_at = '13:00'"), [coming.pk]) == [
        (coming.pk,)
    ]
    deleted = in_request(
        staff["admin"], "DELETE FROM working_hours WHERE id = %s RETURNING id", [coming.pk]
    )
    assert deleted == [(coming.pk,)]


# --- the administrator's pages ------------------------------------------------------------------


def change_url(hours) -> str:
    return f"/admin/scheduling/workinghours/{hours.pk}/change/"


def form(hours, **changes) -> dict:
    data = {
        "clinician": str(hours.clinician_id),
        "weekday": str(hours.weekday),
        "starts_at": hours.starts_at.strftime("%H:%M"),
        "ends_at": hours.ends_at.strftime("%H:%M"),
        "valid_from": hours.valid_from.isoformat() if hours.valid_from else "",
        "valid_until": hours.valid_until.isoformat() if hours.valid_until else "",
        "apply_from": "",
    }
    return {**data, **changes}


def test_changed_hours_apply_from_a_day_on_and_the_past_keeps_the_old(
    staff, client_for, past_hours
):
    client = client_for(staff["admin"])
    from_day = today() + 3 * DAY
    response = client.post(
        change_url(past_hours), form(past_hours, ends_at="13:30", apply_from=from_day.isoformat())
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    rows = list(
        WorkingHours.objects.using("owner")
        .filter(clinician=staff["clinician"])
        .order_by("valid_from")
    )
    assert [(r.valid_from, r.valid_until, r.ends_at) for r in rows] == [
        (past_hours.valid_from, from_day - DAY, datetime.time(12)),
        (from_day, None, datetime.time(13, 30)),
    ]
    # Whichever day is asked, the hours of that day.
    assert rows[0].in_force_on(today()) and not rows[1].in_force_on(today())
    assert rows[1].in_force_on(from_day) and not rows[0].in_force_on(from_day)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": "13:30"}, "say from which day they change"),
        ({"ends_at": "13:30", "apply_from": "2001-01-01"}, "the past keeps its hours"),
        ({"valid_from": "2001-01-01"}, "keep their first day"),
        ({"valid_until": "2001-01-01"}, "end yesterday at the earliest"),
    ],
)
def test_a_change_that_would_rewrite_the_past_is_a_form_message(
    staff, client_for, past_hours, changes, message
):
    response = client_for(staff["admin"]).post(change_url(past_hours), form(past_hours, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    stored = WorkingHours.objects.using("owner").get(pk=past_hours.pk)
    assert (stored.ends_at, stored.valid_from, stored.valid_until) == (
        datetime.time(12),
        past_hours.valid_from,
        None,
    )
    assert WorkingHours.objects.using("owner").count() == 1


def test_new_hours_start_today_unless_told_and_past_ones_cannot_be_deleted(
    staff, client_for, past_hours
):
    client = client_for(staff["admin"])
    response = client.post(
        "/admin/scheduling/workinghours/add/",
        {"clinician": str(staff["clinician"].pk), "weekday": "2", "starts_at": "08:30",
         "ends_at": "12:00"},
    )  # fmt: skip
    assert response.status_code == 302
    added = WorkingHours.objects.using("owner").get(weekday=2)
    assert added.valid_from == today()
    assert client.get(f"/admin/scheduling/workinghours/{past_hours.pk}/delete/").status_code == 403
