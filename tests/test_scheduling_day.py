"""The day list and the day's steps: the front desk sees every clinician's column (no visit
reason), checks patients in, marks no-shows and cancels with a reason; a clinician sees only
their own appointments (with the reason) and moves them through in room, seen, done. Each
patient shown is logged once, each step is an event. Analysts and staff without a role are
refused and logged. The day is pinned (tests.factories.FUTURE_MONDAY)."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from scheduling.models import Appointment
from tests.factories import (
    FAKE_VISIT_REASON,
    FUTURE_MONDAY,
    AppointmentFactory,
    PatientFactory,
    clinic_moment,
    today_at,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
DAY = reverse("scheduling:day")


def step_url(appointment) -> str:
    return reverse("scheduling:step", kwargs={"appointment_id": appointment.pk})


def cancel_url(appointment) -> str:
    return reverse("scheduling:cancel", kwargs={"appointment_id": appointment.pk})


def stored(appointment) -> Appointment:
    return Appointment.objects.using("owner").get(pk=appointment.pk)


@pytest.fixture
def day(staff):
    """Two appointments of one patient (with two clinicians) and one of another patient."""
    first = PatientFactory(first_name="Fakeone")
    second = PatientFactory(first_name="Faketwo")
    return {
        "mine": AppointmentFactory(clinician=staff["clinician"], patient=first),
        "mine_later": AppointmentFactory(
            clinician=staff["clinician"], patient=second, starts_at=clinic_moment(FUTURE_MONDAY, 10)
        ),
        "theirs": AppointmentFactory(
            clinician=staff["clinician2"], patient=first, starts_at=clinic_moment(FUTURE_MONDAY, 11)
        ),
        "patients": (first, second),
        # Check-in and no-show happen on the appointment's day: one at noon today.
        "today": AppointmentFactory(
            clinician=staff["clinician"], patient=PatientFactory(), starts_at=today_at(12)
        ),
    }


def test_front_desk_sees_every_clinician_without_the_reason(client_for, staff, day):
    response = client_for(staff["frontdesk"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    assert "t-clinician2" in body and "Fakeone" in body and "Faketwo" in body
    assert "09:00" in body and "11:00" in body
    assert FAKE_VISIT_REASON not in body
    assert cancel_url(day["mine"]) in body
    assert step_url(day["mine"]) not in body  # check-in waits for the appointment's day
    # One event per patient shown, however many of their appointments the list showed.
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert sorted(str(e.patient_id) for e in listed) == sorted(str(p.pk) for p in day["patients"])
    assert all(e.staff_id == staff["frontdesk"].pk for e in listed)


def test_a_clinician_sees_only_their_own_day_with_the_reason(client_for, staff, day):
    response = client_for(staff["clinician"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    assert FAKE_VISIT_REASON in body
    assert "09:00" in body and "10:00" in body and "11:00" not in body  # not the colleague's
    assert "t-clinician2" not in body
    assert cancel_url(day["mine"]) not in body
    assert len(events(access_log.APPOINTMENTS_LISTED)) == 2


def test_an_empty_day_logs_nobody(client_for, staff):
    response = client_for(staff["frontdesk"]).get(DAY)
    assert response.status_code == 200
    assert b"No appointments on this day" in response.content
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_front_desk_checks_a_patient_in_once(client_for, staff, day):
    desk = client_for(staff["frontdesk"])
    response = desk.post(step_url(day["today"]), {"status": "arrived"})
    assert response.status_code == 302
    back = f"?date={timezone.localdate()}&clinician={day['today'].clinician_id}"
    assert response["Location"] == f"{DAY}{back}"
    checked_in = stored(day["today"])
    assert checked_in.status == "arrived" and checked_in.arrived_at is not None
    assert desk.post(step_url(day["today"]), {"status": "arrived"}).status_code == 302
    [event] = events(access_log.APPOINTMENT_CHECKED_IN)
    assert (event.patient_id, event.object_id) == (day["today"].patient_id, str(day["today"].pk))


def test_front_desk_marks_a_no_show(client_for, staff, day):
    client_for(staff["frontdesk"]).post(step_url(day["today"]), {"status": "no_show"})
    assert stored(day["today"]).status == "no_show"
    assert len(events(access_log.APPOINTMENT_NO_SHOW)) == 1


def test_the_clinician_moves_their_patient_through_the_day(client_for, staff, day):
    client_for(staff["frontdesk"]).post(step_url(day["today"]), {"status": "arrived"})
    clinician = client_for(staff["clinician"])
    for status in ("in_room", "seen", "done"):
        assert clinician.post(step_url(day["today"]), {"status": status}).status_code == 302
        assert stored(day["today"]).status == status
    flow = events(access_log.APPOINTMENT_FLOW)
    assert [e.reason for e in flow] == ["in_room", "seen", "done"]
    assert {e.staff_id for e in flow} == {staff["clinician"].pk}


def test_a_clinician_cannot_check_in_or_touch_another_clinicians_appointment(
    client_for, staff, day
):
    clinician = client_for(staff["clinician"])
    clinician.post(step_url(day["today"]), {"status": "arrived"})
    assert stored(day["today"]).status == "booked"
    assert clinician.post(step_url(day["theirs"]), {"status": "in_room"}).status_code == 404
    [refused] = events(access_log.ACCESS_REFUSED)
    assert refused.object_id == str(day["theirs"].pk)
    assert clinician.get(cancel_url(day["today"])).status_code == 403


def test_front_desk_cancels_with_a_reason_category(client_for, staff, day):
    desk = client_for(staff["frontdesk"])
    page = desk.get(cancel_url(day["mine"]))
    assert page.status_code == 200 and b"Patient request" in page.content
    assert FAKE_VISIT_REASON.encode() not in page.content
    response = desk.post(cancel_url(day["mine"]), {"reason": "patient_request"})
    assert response.status_code == 302
    cancelled = stored(day["mine"])
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "patient_request")
    [event] = events(access_log.APPOINTMENT_CANCELLED)
    assert (event.object_id, event.reason) == (str(day["mine"].pk), "patient_request")


def test_an_unknown_reason_cancels_nothing(client_for, staff, day):
    response = client_for(staff["frontdesk"]).post(cancel_url(day["mine"]), {"reason": "whim"})
    assert response.status_code == 200
    assert stored(day["mine"]).status == "booked"


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_every_day_page_and_logged(client_for, staff, day, persona):
    client = client_for(staff[persona])
    assert client.get(DAY).status_code == 403
    assert client.post(step_url(day["mine"]), {"status": "arrived"}).status_code == 403
    assert client.get(cancel_url(day["mine"])).status_code == 403
    assert client.post(cancel_url(day["mine"]), {"reason": "other"}).status_code == 403
    assert stored(day["mine"]).status == "booked"
    assert len(events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)) == 4
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_an_unknown_appointment_is_a_404(client_for, staff):
    import uuid

    missing = reverse("scheduling:cancel", kwargs={"appointment_id": uuid.uuid4()})
    assert client_for(staff["frontdesk"]).get(missing).status_code == 404


def test_check_in_and_no_show_only_on_the_appointments_day(client_for, staff, day):
    desk = client_for(staff["frontdesk"])
    page = desk.get(DAY, {"date": FUTURE_MONDAY.isoformat()})
    assert b"Check in" not in page.content and b"No-show" not in page.content
    assert cancel_url(day["mine"]) in page.content.decode()  # cancelling is for any day
    for status in ("arrived", "no_show"):
        response = desk.post(step_url(day["mine"]), {"status": status}, follow=True)
        assert b"on the appointment&#x27;s day only" in response.content
        assert stored(day["mine"]).status == "booked"
    assert events(access_log.APPOINTMENT_CHECKED_IN) == []
    assert events(access_log.APPOINTMENT_NO_SHOW) == []
    today = desk.get(DAY)
    assert step_url(day["today"]) in today.content.decode() and b"Check in" in today.content


def row_of(body: str, last_name: str) -> str:
    [row] = re.findall(rf"<tr>(?:(?!</tr>).)*{last_name}(?:(?!</tr>).)*</tr>", body, re.S)
    return row


def steps_in(row: str) -> list[tuple[str, str]]:
    return re.findall(r'name="status" value="(\w+)"><button type="submit">([^<]+)</button>', row)


def test_each_row_offers_what_its_state_and_the_role_allow(client_for, staff):
    """Each row's controls (computed once per row, scheduling/day_rows.py): the front desk
    checks in or marks a no-show on the day, moves a booked appointment and cancels a live
    one; a clinician takes the patient in; a finished visit offers nothing."""
    who = {"clinician": staff["clinician"]}
    booked = AppointmentFactory(
        **who, patient=PatientFactory(last_name="Fakebooked"), starts_at=today_at(13)
    )
    arrived = AppointmentFactory(
        **who,
        patient=PatientFactory(last_name="Fakearrived"),
        starts_at=today_at(14),
        status="arrived",
        arrived_at=today_at(13, 50),
    )
    AppointmentFactory(
        **who,
        patient=PatientFactory(last_name="Fakedone"),
        starts_at=today_at(15),
        status="done",
        arrived_at=today_at(14, 55),
        in_room_at=today_at(15),
        seen_at=today_at(15, 10),
        done_at=today_at(15, 20),
    )
    reschedule = reverse("scheduling:reschedule", kwargs={"appointment_id": booked.pk})

    desk = client_for(staff["frontdesk"]).get(DAY).content.decode()
    row = row_of(desk, "Fakebooked")
    assert steps_in(row) == [("arrived", "Check in"), ("no_show", "No-show")]
    assert f'action="{step_url(booked)}"' in row
    assert f'href="{reschedule}"' in row and f'href="{cancel_url(booked)}"' in row
    row = row_of(desk, "Fakearrived")
    assert "arrived 13:50" in row and steps_in(row) == []
    assert f'href="{cancel_url(arrived)}"' in row and "Reschedule" not in row
    row = row_of(desk, "Fakedone")
    assert "<form" not in row and "<a " not in row

    clinician = client_for(staff["clinician"]).get(DAY).content.decode()
    row = row_of(clinician, "Fakearrived")
    assert steps_in(row) == [("in_room", "In room")]
    assert f'action="{step_url(arrived)}"' in row and "<a " not in row
    for last_name in ("Fakebooked", "Fakedone"):
        row = row_of(clinician, last_name)
        assert "<form" not in row and "<a " not in row


def test_the_front_desks_day_reads_only_what_its_rows_show_in_a_fixed_number_of_statements(
    client_for, staff, day
):
    """scheduling/day_rows.py FRONT_DESK_ROW_FIELDS: one statement reads the page's
    appointments with only the columns the rows, the free time and the events use (no other
    identifier of the patient, no audit columns), and no row reads anything of its own."""
    desk = client_for(staff["frontdesk"])
    params = {"date": FUTURE_MONDAY.isoformat()}
    desk.get(DAY, params)  # warm: the session and the page's choices

    def statements() -> list[str]:
        with CaptureQueriesContext(connections["default"]) as queries:
            response = desk.get(DAY, params)
        assert response.status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    before = statements()
    for hour in (13, 14, 15):
        AppointmentFactory(
            clinician=staff["clinician2"], starts_at=clinic_moment(FUTURE_MONDAY, hour)
        )
    after = statements()
    assert len(after) == len(before), "a statement per row"
    read = [sql for sql in after if 'FROM "appointments" INNER JOIN' in sql]
    assert len(read) == 1, read
    for column in ('"patient_identities"."ssn"', '"patient_identities"."date_of_birth"',
                   '"appointments"."created_at"', '"appointments"."booked_by_id"',
                   '"appointments"."visit_reason"'):  # fmt: skip
        assert column not in read[0], column
    assert '"patient_identities"."last_name"' in read[0]
