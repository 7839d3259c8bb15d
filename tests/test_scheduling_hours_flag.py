"""Bookings left outside changed working hours are flagged (scheduling/needs_new_time.py,
scheduling/db_needs_new_time.py): a booked appointment to come, with no override mark, that
lies outside its clinician's working time as it now stands (hours changed from a day on, time
off added) shows "Outside working time now" on the front desk's day and week views and is
listed under "Appointments to re-arrange", counted on the front desk's home page; the
administrator is told how many after saving hours or time off. The rule is the database's own
(`appointment_in_working_time`), shown here with raw SQL as each role's request would run it.

Days are computed when each test runs (the Monday after next, at least a week ahead), never at
collection, and no appointment is near now, so the tests pass at any hour."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic import access_log, roles
from scheduling.models import Appointment, WorkingHours
from tests.db_helpers import in_request, run_as
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
    monday_after_next,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

MARKER = b"Outside working time now"
DAY_URL = reverse("scheduling:day")
WEEK_URL = reverse("scheduling:week")
LIST_URL = reverse("scheduling:rearrange")
DAY = datetime.timedelta(days=1)
RULE = "SELECT appointment_needs_new_time(status, override_reason, clinician_id, starts_at, "
RULE += "ends_at) FROM appointments WHERE appointment_id = %s"
COUNT = "SELECT appointments_needing_new_time(%s)"


def today() -> datetime.date:
    return timezone.localdate()


def at(hour: int, minute: int = 0, *, weeks: int = 0) -> datetime.datetime:
    return clinic_moment(monday_after_next() + datetime.timedelta(weeks=weeks), hour, minute)


def change_hours(clinician, *, ends: int) -> None:
    """Mondays 09:00-12:00 since always, changed from today on to 09:00-`ends`:00 (as the
    admin's "Apply from" leaves them; the owner writes, as the factories do)."""
    WorkingHoursFactory(clinician=clinician, valid_until=today() - DAY)
    WorkingHoursFactory(clinician=clinician, valid_from=today(), ends_at=datetime.time(ends))


@pytest.fixture
def booked(staff):
    """Clinician: Mondays 09:00-12:00 cut to 09:00-11:00 from today; booked at 09:00 (still in)
    and 11:00 (now outside). Clinician 2: Mondays 09:00-12:00, booked at 10:00, then time off
    10:00-11:00 added."""
    change_hours(staff["clinician"], ends=11)
    WorkingHoursFactory(clinician=staff["clinician2"])
    inside = AppointmentFactory(clinician=staff["clinician"], starts_at=at(9))
    outside = AppointmentFactory(clinician=staff["clinician"], starts_at=at(11))
    in_time_off = AppointmentFactory(clinician=staff["clinician2"], starts_at=at(10))
    ScheduleExceptionFactory(clinician=staff["clinician2"], starts_at=at(10))
    return {"inside": inside, "outside": outside, "time_off": in_time_off}


def day_page(client, day: datetime.date | None = None):
    response = client.get(DAY_URL, {"date": (day or monday_after_next()).isoformat()})
    assert response.status_code == 200
    return response


def flagged_rows(response) -> list[str]:
    """The day view's rows carrying the marker, as text (one <tr> each)."""
    html = response.content.decode()
    rows = html.split("<tr")[1:]
    return [row for row in rows if MARKER.decode() in row]


def listed_ids(response) -> list[str]:
    return [str(a.pk) for a in response.context["appointments"]]


# --- the front desk's views ---------------------------------------------------------------------


def test_a_booking_left_outside_changed_hours_is_flagged_on_the_day_view(client_for, staff, booked):
    response = day_page(client_for(staff["frontdesk"]))
    rows = flagged_rows(response)
    assert len(rows) == 2  # 11:00 (hours changed) and 10:00 (time off); not 09:00
    assert any("11:00–11:30" in row for row in rows)
    assert any("10:00–10:30" in row for row in rows)
    assert all("Reschedule" in row for row in rows)
    assert not any("09:00–09:30" in row for row in rows)


def test_the_list_shows_every_clinicians_bookings_to_rearrange(client_for, staff, booked):
    response = client_for(staff["frontdesk"]).get(LIST_URL)
    assert response.status_code == 200
    assert listed_ids(response) == [str(booked["time_off"].pk), str(booked["outside"].pk)]
    assert response.content.count(MARKER) == 2
    for appointment in (booked["time_off"], booked["outside"]):
        assert reverse("scheduling:reschedule", args=[appointment.pk]).encode() in response.content


def test_the_week_view_flags_them_too(client_for, staff, booked):
    response = client_for(staff["frontdesk"]).get(
        WEEK_URL,
        {"clinician": staff["clinician"].pk, "date": monday_after_next().isoformat()},
    )
    assert response.status_code == 200
    assert response.content.count(MARKER) == 1
    assert reverse("scheduling:reschedule", args=[booked["outside"].pk]).encode() in (
        response.content
    )


def test_time_off_added_after_booking_flags_the_booking(client_for, staff):
    WorkingHoursFactory(clinician=staff["clinician"])
    appointment = AppointmentFactory(clinician=staff["clinician"], starts_at=at(10, 30))
    desk = client_for(staff["frontdesk"])
    assert flagged_rows(day_page(desk)) == []
    ScheduleExceptionFactory(clinician=staff["clinician"], starts_at=at(10))
    assert len(flagged_rows(day_page(desk))) == 1
    assert listed_ids(desk.get(LIST_URL)) == [str(appointment.pk)]


def test_an_override_booking_is_not_flagged(client_for, staff):
    WorkingHoursFactory(clinician=staff["clinician"])
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(14), override_reason="urgent")
    desk = client_for(staff["frontdesk"])
    assert flagged_rows(day_page(desk)) == []
    assert listed_ids(desk.get(LIST_URL)) == []


def test_a_rescheduled_booking_drops_off(client_for, staff, booked):
    desk = client_for(staff["frontdesk"])
    new_start = at(10)
    response = desk.post(
        reverse("scheduling:reschedule", args=[booked["outside"].pk]),
        {
            "from_date": monday_after_next().isoformat(),
            "starts_at": new_start.astimezone(datetime.UTC).isoformat(),
        },
    )
    assert response.status_code == 302
    assert Appointment.objects.using("owner").get(pk=booked["outside"].pk).starts_at == new_start
    assert listed_ids(desk.get(LIST_URL)) == [str(booked["time_off"].pk)]
    assert len(flagged_rows(day_page(desk))) == 1  # clinician 2's, in their time off


def test_past_and_finished_bookings_are_not_flagged(client_for, staff):
    """No working hours at all: every appointment is outside; only the booked one to come is
    flagged, not one that has started, nor a cancelled one."""
    clinician = staff["clinician"]
    started = timezone.now() - datetime.timedelta(hours=2)
    past = AppointmentFactory(clinician=clinician, starts_at=started)
    AppointmentFactory(
        clinician=clinician,
        starts_at=at(15),
        status=Appointment.CANCELLED,
        cancelled_at=timezone.now(),
        cancel_reason="other",
    )
    coming = AppointmentFactory(clinician=clinician, starts_at=at(16))
    desk = client_for(staff["frontdesk"])
    assert flagged_rows(day_page(desk, timezone.localdate(started))) == []
    assert len(flagged_rows(day_page(desk))) == 1
    assert listed_ids(desk.get(LIST_URL)) == [str(coming.pk)]
    assert run_as("clinic_front_desk", RULE, [past.pk]) == [(False,)]


def test_the_list_covers_the_coming_weeks_a_page_at_a_time(client_for, staff):
    from scheduling.needs_new_time import HORIZON_WEEKS
    from scheduling.rearrange_views import PER_PAGE

    clinician = staff["clinician"]  # no hours: all outside
    for half_hour in range(PER_PAGE + 1):
        starts = at(6) + half_hour * datetime.timedelta(minutes=30)
        AppointmentFactory(clinician=clinician, starts_at=starts)
    AppointmentFactory(clinician=clinician, starts_at=at(9, weeks=HORIZON_WEEKS))
    desk = client_for(staff["frontdesk"])
    first = desk.get(LIST_URL)
    assert len(listed_ids(first)) == PER_PAGE and b"?page=2" in first.content
    assert len(listed_ids(desk.get(LIST_URL, {"page": 2}))) == 1  # beyond the horizon: not


def test_the_list_runs_the_rule_in_one_statement(client_for, staff, booked):
    """The rule is the list's cost: one statement evaluates it (the ids, in order), not a
    pager's count and then its page."""
    with CaptureQueriesContext(connections["default"]) as queries:
        response = client_for(staff["frontdesk"]).get(LIST_URL)
    assert response.status_code == 200 and len(listed_ids(response)) == 2
    ruled = [q for q in queries.captured_queries if "appointment_needs_new_time" in q["sql"]]
    assert len(ruled) == 1, ruled


def test_the_front_desk_home_links_the_list_which_counts_them(client_for, staff, booked):
    """The home page does not run the rule (once per booked appointment of the coming weeks:
    seconds at a large clinic); the list does, and says how many."""
    desk = client_for(staff["frontdesk"])
    with CaptureQueriesContext(connections["default"]) as queries:
        response = desk.get("/")
    assert response.status_code == 200
    assert f'href="{LIST_URL}"'.encode() in response.content
    assert not [q for q in queries.captured_queries if "appointment_needs_new_time" in q["sql"]]
    listed = desk.get(LIST_URL)
    assert b'id="to-rearrange-count"><strong class="figure">2</strong>' in listed.content


# --- the access log and the statements -------------------------------------------------------


def test_the_list_logs_each_patient_shown_once_in_one_statement(client_for, staff):
    WorkingHoursFactory(clinician=staff["clinician"])
    same = PatientFactory(first_name="Fakesame")
    AppointmentFactory(clinician=staff["clinician"], patient=same, starts_at=at(13))
    AppointmentFactory(clinician=staff["clinician"], patient=same, starts_at=at(13, weeks=1))
    other = AppointmentFactory(clinician=staff["clinician"], starts_at=at(14))
    desk = client_for(staff["frontdesk"])
    with CaptureQueriesContext(connections["default"]) as queries:
        assert desk.get(LIST_URL).status_code == 200
    appends = [q["sql"] for q in queries.captured_queries if "append_access_event" in q["sql"]]
    assert len(appends) == 1
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert sorted(str(e.patient_id) for e in listed) == sorted(
        [str(same.pk), str(other.patient_id)]
    )
    assert all(e.staff_id == staff["frontdesk"].pk for e in listed)


def day_statements(client) -> list[str]:
    day_page(client)  # warm-up: session and caches settled
    with CaptureQueriesContext(connections["default"]) as queries:
        day_page(client)
    return [q["sql"] for q in queries.captured_queries]


def test_the_day_view_reads_the_flag_with_its_appointments_not_per_row(client_for, staff):
    """The flag is a column of the query that reads the day's appointments: the page sends as
    many statements with one flagged row as with six, and only that one calls the rule."""
    desk = client_for(staff["frontdesk"])
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(9))  # no hours: flagged
    one = day_statements(desk)
    for hour in range(10, 15):
        AppointmentFactory(clinician=staff["clinician"], starts_at=at(hour))
    six = day_statements(desk)
    assert len(six) == len(one)
    assert len([sql for sql in six if "appointment_needs_new_time" in sql]) == 1
    assert len(flagged_rows(day_page(desk))) == 6


# --- who may see them ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_the_list_and_logged(client_for, staff, booked, persona):
    response = client_for(staff[persona]).get(LIST_URL)
    assert response.status_code == 403
    [refused] = events(access_log.ACCESS_REFUSED)
    assert refused.staff_id == staff[persona].pk
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_a_clinicians_own_day_shows_no_flag(client_for, staff, booked):
    """The clinician holds no right on working hours: their day view does not ask the rule."""
    response = day_page(client_for(staff["clinician"]))
    assert b"11:00" in response.content and MARKER not in response.content


OTHER_ROLES = [
    roles.GROUP_ROLES[group]
    for group in (roles.CLINICIAN, roles.ANALYST, roles.PRIVACY_OFFICER, roles.ADMINISTRATOR)
] + [roles.SIGNED_IN_ROLE]


def test_the_rule_answers_the_front_desk_in_raw_sql(staff, booked):
    assert run_as("clinic_front_desk", RULE, [booked["outside"].pk]) == [(True,)]
    assert run_as("clinic_front_desk", RULE, [booked["time_off"].pk]) == [(True,)]
    assert run_as("clinic_front_desk", RULE, [booked["inside"].pk]) == [(False,)]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_the_rule_refuses_every_other_role_in_raw_sql(staff, booked, role):
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(role, "SELECT appointment_needs_new_time('booked', '', %s, now(), now())", [1])


# --- the administrator --------------------------------------------------------------------------


def test_the_administrators_count_is_a_number_for_one_clinician(staff, booked):
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(14), override_reason="urgent")
    assert in_request(staff["admin"], COUNT, [staff["clinician"].pk]) == [(1,)]
    assert in_request(staff["admin"], COUNT, [staff["clinician2"].pk]) == [(1,)]
    assert in_request(staff["admin"], COUNT, [staff["frontdesk"].pk]) == [(0,)]
    # The administrator still reads no appointment itself.
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff["admin"], "SELECT starts_at FROM appointments")


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "privacy", "outsider"])
def test_the_administrators_count_refuses_every_other_role(staff, booked, persona):
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff[persona], COUNT, [staff["clinician"].pk])


def hours_change_form(hours, **changes) -> dict:
    data = {
        "clinician": str(hours.clinician_id),
        "weekday": str(hours.weekday),
        "starts_at": hours.starts_at.strftime("%H:%M"),
        "ends_at": hours.ends_at.strftime("%H:%M"),
        "valid_from": hours.valid_from.isoformat() if hours.valid_from else "",
        "valid_until": "",
        "apply_from": "",
    }
    return {**data, **changes}


def time_off_form(clinician, day: str, starts: str, ends: str) -> dict:
    """The admin's schedule-exception form: time off on `day` from `starts` to `ends`."""
    return {
        "clinician": str(clinician.pk),
        "kind": "time_off",
        "starts_at_0": day,
        "starts_at_1": starts,
        "ends_at_0": day,
        "ends_at_1": ends,
        "note": "Fake note: training",
    }


def admin_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_administrator_is_told_how_many_after_changing_hours(client_for, staff):
    hours = WorkingHoursFactory(clinician=staff["clinician"], valid_from=today() - 30 * DAY)
    patient = PatientFactory(first_name="Fakeadminshown")
    AppointmentFactory(clinician=staff["clinician"], patient=patient, starts_at=at(11))
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(11, weeks=1))
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(9))
    response = client_for(staff["admin"]).post(
        f"/admin/scheduling/workinghours/{hours.pk}/change/",
        hours_change_form(hours, ends_at="11:00", apply_from=today().isoformat()),
        follow=True,
    )
    assert response.status_code == 200
    told = [m for m in admin_messages(response) if "working time" in m]
    assert told == [
        "2 booked appointments of this clinician now outside their working time need a new "
        "time: the front desk finds them under \u201cAppointments to re-arrange\u201d (those "
        "of the next 8 weeks) and on the day lists."
    ]
    assert b"Fakeadminshown" not in response.content and b"11:00\xe2\x80\x93" not in (
        response.content
    )


def test_the_administrator_is_told_after_adding_time_off(client_for, staff):
    WorkingHoursFactory(clinician=staff["clinician"])
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(10))
    day = monday_after_next().isoformat()
    response = client_for(staff["admin"]).post(
        "/admin/scheduling/scheduleexception/add/",
        time_off_form(staff["clinician"], day, "09:30", "12:00"),
        follow=True,
    )
    assert response.status_code == 200
    told = [m for m in admin_messages(response) if "working time" in m]
    assert len(told) == 1 and told[0].startswith("1 booked appointment of this clinician")


def bulk_delete(client, model: str, rows) -> object:
    """The changelist's "Delete selected" action, confirmed."""
    return client.post(
        f"/admin/scheduling/{model}/",
        {"action": "delete_selected", "_selected_action": [str(r.pk) for r in rows], "post": "yes"},
        follow=True,
    )


def test_a_bulk_delete_tells_each_clinician_s_count(client_for, staff):
    """Time off of two clinicians deleted from the list at once: one count per clinician,
    each named (the counts are 1 and 0: only the first still has a booking outside)."""
    for clinician in (staff["clinician"], staff["clinician2"]):
        WorkingHoursFactory(clinician=clinician)
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(10))
    AppointmentFactory(clinician=staff["clinician"], starts_at=at(10, weeks=1))
    rows = [
        ScheduleExceptionFactory(clinician=staff["clinician"], starts_at=at(10), ends_at=at(11)),
        ScheduleExceptionFactory(clinician=staff["clinician2"], starts_at=at(10), ends_at=at(11)),
    ]
    # Still outside after the delete: the second week's booking, under time off kept.
    ScheduleExceptionFactory(
        clinician=staff["clinician"], starts_at=at(10, weeks=1), ends_at=at(11, weeks=1)
    )
    response = bulk_delete(client_for(staff["admin"]), "scheduleexception", rows)
    assert response.status_code == 200
    told = sorted(m for m in admin_messages(response) if "working time" in m)
    assert told == [
        "1 booked appointment of clinician t-clinician now outside their working time needs a "
        "new time: the front desk finds them under \u201cAppointments to re-arrange\u201d "
        "(those of the next 8 weeks) and on the day lists.",
        "No booked appointment of clinician t-clinician2 is outside their working time now.",
    ]


def test_time_off_moved_to_another_clinician_counts_both(client_for, staff):
    """The time off leaves the first clinician (their booking is back in working time) and
    lands on the second (whose booking is now outside): both schedules changed, both counted."""
    for clinician in (staff["clinician"], staff["clinician2"]):
        WorkingHoursFactory(clinician=clinician)
        AppointmentFactory(clinician=clinician, starts_at=at(10))
    off = ScheduleExceptionFactory(clinician=staff["clinician"], starts_at=at(10), ends_at=at(11))
    day = at(10).date().isoformat()
    response = client_for(staff["admin"]).post(
        f"/admin/scheduling/scheduleexception/{off.pk}/change/",
        time_off_form(staff["clinician2"], day, "10:00", "11:00"),
        follow=True,
    )
    assert response.status_code == 200
    told = sorted(m for m in admin_messages(response) if "working time" in m)
    assert len(told) == 2, told
    assert told[0].startswith("1 booked appointment of clinician t-clinician2 ")
    assert told[1] == (
        "No booked appointment of clinician t-clinician is outside their working time now."
    )


def test_a_bulk_delete_of_hours_with_a_past_is_refused_on_the_form(client_for, staff):
    """Hours in force before today are ended, never deleted: "Delete selected" says so on its
    confirmation page and deletes nothing (not the database's error as a server error)."""
    past = WorkingHoursFactory(clinician=staff["clinician"], valid_from=today() - 7 * DAY)
    coming = WorkingHoursFactory(clinician=staff["clinician"], valid_from=today() + DAY)
    client = client_for(staff["admin"])
    asked = client.post(
        "/admin/scheduling/workinghours/",
        {"action": "delete_selected", "_selected_action": [str(past.pk), str(coming.pk)]},
    )
    assert asked.status_code == 200
    assert b"in force before today (they are ended, never deleted)" in asked.content
    # Confirming anyway (a crafted POST) is refused as not permitted.
    assert bulk_delete(client, "workinghours", [past, coming]).status_code == 403
    assert WorkingHours.objects.using("owner").filter(pk__in=[past.pk, coming.pk]).count() == 2
