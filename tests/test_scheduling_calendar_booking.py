"""Booking from the calendar: the front desk's day and week views show each clinician's free
time, each stretch linking to the booking page for that clinician and time (ids and a UTC time
in the URL, nothing else); the front desk finds the patient with the usual POSTed search
(logged per patient shown), picks the type, and the chosen time comes first, preselected;
booking returns to the day. Clinicians see no free time and cannot use the page; other roles
are refused and logged. Working time: Mondays 09:00-12:00 (tests.factories.FUTURE_MONDAY)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from clinic import access_log
from scheduling.models import Appointment
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
DAY = reverse("scheduling:day")
FROM_CALENDAR = reverse("scheduling:book-from-calendar")


@pytest.fixture
def setup(staff, patient):
    WorkingHoursFactory(clinician=staff["clinician"])  # Mondays 09:00-12:00
    AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 10))
    ScheduleExceptionFactory(
        clinician=staff["clinician"],
        starts_at=clinic_moment(FUTURE_MONDAY, 11),
        ends_at=clinic_moment(FUTURE_MONDAY, 11, 30),
    )
    return {"patient": patient, "type": AppointmentTypeFactory()}


def utc(hour: int, minute: int = 0) -> str:
    moment = clinic_moment(FUTURE_MONDAY, hour, minute).astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def calendar_link(staff, hour: int, minute: int = 0) -> str:
    return f"{FROM_CALENDAR}?clinician={staff['clinician'].pk}&at={utc(hour, minute)}"


def book_links(body: str) -> list[str]:
    return [
        link.replace("&amp;", "&")
        for link in re.findall(r'href="(/scheduling/book/\?[^"]*)"', body)
    ]


def test_front_desk_day_view_links_each_free_stretch_to_booking(client_for, staff, setup):
    response = client_for(staff["frontdesk"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    # 09:00-10:00 free, 10:00-10:30 booked, 10:30-11:00 free, 11:00-11:30 time off, then free.
    assert book_links(body) == [
        calendar_link(staff, 9),
        calendar_link(staff, 10, 30),
        calendar_link(staff, 11, 30),
    ]
    assert "Free (60 min)" in body and "Free (30 min)" in body


def test_free_time_of_a_clinician_with_no_appointment_gets_a_column(client_for, staff, setup):
    WorkingHoursFactory(
        clinician=staff["clinician2"], starts_at=datetime.time(14), ends_at=datetime.time(16)
    )
    body = client_for(staff["frontdesk"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()}).content
    assert f"clinician={staff['clinician2'].pk}&amp;at={utc(14)}".encode() in body


def test_no_free_time_is_offered_in_the_past(client_for, staff, setup):
    past_monday = FUTURE_MONDAY - datetime.timedelta(days=28)
    body = client_for(staff["frontdesk"]).get(DAY, {"date": past_monday.isoformat()}).content
    assert not book_links(body.decode())


def test_the_week_view_links_free_time_too(client_for, staff, setup):
    response = client_for(staff["frontdesk"]).get(
        reverse("scheduling:week"),
        {"clinician": staff["clinician"].pk, "date": FUTURE_MONDAY.isoformat()},
    )
    assert book_links(response.content.decode()) == [
        calendar_link(staff, 9),
        calendar_link(staff, 10, 30),
        calendar_link(staff, 11, 30),
    ]


def test_a_clinician_sees_no_free_time_links(client_for, staff, setup):
    body = client_for(staff["clinician"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()}).content
    assert not book_links(body.decode())
    week = client_for(staff["clinician"]).get(
        reverse("scheduling:week"), {"date": FUTURE_MONDAY.isoformat()}
    )
    assert not book_links(week.content.decode())


def test_the_search_from_the_calendar_links_each_patient_to_the_booking_form(
    client_for, staff, setup
):
    patient = setup["patient"]
    client = client_for(staff["frontdesk"])
    page = client.get(calendar_link(staff, 10, 30))
    assert page.status_code == 200
    assert b"Back to the calendar" in page.content
    response = client.post(calendar_link(staff, 10, 30), {"mode": "mrn", "mrn": patient.mrn})
    assert response.status_code == 200
    body = response.content.decode()
    booking = reverse("scheduling:book", kwargs={"patient_id": patient.pk})
    link = f"{booking}?clinician={staff['clinician'].pk}&amp;at={utc(10, 30).replace(':', '%3A')}"
    assert link in body
    [event] = events(access_log.PATIENT_SEARCH)
    assert (event.patient_id, event.reason) == (patient.pk, "mrn")
    # Nothing the front desk typed goes back on the page or into a URL.
    assert patient.mrn not in link and f'value="{patient.mrn}"' not in body


def test_the_booking_form_from_the_calendar_offers_the_chosen_time_first(client_for, staff, setup):
    patient = setup["patient"]
    booking = reverse("scheduling:book", kwargs={"patient_id": patient.pk})
    client = client_for(staff["frontdesk"])
    # Straight from the calendar: clinician and day filled in, the type still to choose.
    first = client.get(booking, {"clinician": staff["clinician"].pk, "at": utc(10, 30)})
    assert first.status_code == 200
    assert b"This field is required" not in first.content
    assert f'value="{FUTURE_MONDAY.isoformat()}"'.encode() in first.content
    assert f'<option value="{staff["clinician"].pk}" selected>'.encode() in first.content
    search = {
        "clinician": staff["clinician"].pk,
        "appointment_type": setup["type"].pk,
        "from_date": FUTURE_MONDAY.isoformat(),
        "at": utc(10, 30),
    }
    body = client.get(booking, search).content.decode()
    chosen = clinic_moment(FUTURE_MONDAY, 10, 30).astimezone(datetime.UTC).isoformat()
    times = re.findall(r'name="starts_at" value="([^"]+)"', body)
    assert times[0] == chosen  # nothing earlier offered
    assert re.search(rf'value="{re.escape(chosen)}"[^>]*checked', body)
    response = client.post(booking, {**search, "starts_at": chosen, "visit_reason": ""})
    assert response.status_code == 302
    # Back to the calendar, at the clinician's page.
    assert response["Location"] == f"{DAY}?date={FUTURE_MONDAY}&clinician={staff['clinician'].pk}"
    stored = Appointment.objects.using("owner").get(patient=patient)
    assert stored.starts_at == clinic_moment(FUTURE_MONDAY, 10, 30)


@pytest.mark.parametrize(
    "query",
    [
        {"at": "not-a-time"},
        {"at": "2026-01-01T10:00"},  # no zone
        {"at": "2099-01-01T10:00Z"},  # too far ahead
        {"clinician": "0"},
    ],
    ids=["garbage", "naive", "far", "no-such-clinician"],
)
def test_a_bad_calendar_link_goes_back_to_the_day_with_a_message(client_for, staff, setup, query):
    data = {"clinician": staff["clinician"].pk, "at": utc(9), **query}
    response = client_for(staff["frontdesk"]).get(FROM_CALENDAR, data)
    assert response.status_code == 302
    assert response["Location"] == DAY


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_booking_from_the_calendar(client_for, staff, setup, persona):
    response = client_for(staff[persona]).post(
        calendar_link(staff, 9), {"mode": "mrn", "mrn": setup["patient"].mrn}
    )
    assert response.status_code == 403
    assert not events(access_log.PATIENT_SEARCH)
    assert events(access_log.ACCESS_REFUSED)


def test_the_link_carries_no_phi(client_for, staff, setup):
    body = client_for(staff["frontdesk"]).get(DAY, {"date": FUTURE_MONDAY.isoformat()}).content
    for link in book_links(body.decode()):
        query = dict(part.split("=") for part in link.split("?")[1].split("&"))
        assert set(query) == {"clinician", "at"}
        assert int(query["clinician"]) == staff["clinician"].pk
        assert str(setup["patient"].pk) not in link
