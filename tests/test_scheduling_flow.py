"""Today's flow: "My day" is the clinician's home (their appointments today with state and
waiting time, links to each patient's chart by UUID), the patient-flow board (front desk: every
clinician; clinician: their own) and its refresh endpoint. Each patient shown is logged once per
page (and an open board's refresh logs only patients it had not shown); the refresh never
renews the idle session; other roles are refused and logged."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY

from clinic import access_log
from tests.factories import (
    FAKE_VISIT_REASON,
    FUTURE_MONDAY,
    AppointmentFactory,
    PatientFactory,
    today_at,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
HOME = reverse("home")
BOARD = reverse("scheduling:board")
ROWS = reverse("scheduling:board-rows")


@pytest.fixture
def today(staff):
    now = timezone.now()
    waiting = PatientFactory(first_name="Fakewaiting", last_name="Testpatient")
    return {
        "waiting": AppointmentFactory(
            clinician=staff["clinician"],
            patient=waiting,
            starts_at=today_at(0),
            status="arrived",
            arrived_at=now - datetime.timedelta(minutes=12),
        ),
        "in_room": AppointmentFactory(
            clinician=staff["clinician"],
            patient=PatientFactory(first_name="Fakeinroom"),
            starts_at=today_at(1),
            status="in_room",
            arrived_at=now - datetime.timedelta(minutes=40),
            in_room_at=now - datetime.timedelta(minutes=33),
        ),
        "booked": AppointmentFactory(
            clinician=staff["clinician"],
            patient=PatientFactory(first_name="Fakebooked"),
            starts_at=today_at(23),
        ),
        "colleagues": AppointmentFactory(
            clinician=staff["clinician2"],
            patient=PatientFactory(first_name="Fakecolleague"),
            starts_at=today_at(2),
        ),
        "next_week": AppointmentFactory(
            clinician=staff["clinician"], patient=PatientFactory(first_name="Fakelater")
        ),
    }


def listed_patients() -> list[str]:
    return sorted(str(e.patient_id) for e in events(access_log.APPOINTMENTS_LISTED))


def patients_of(*appointments) -> list[str]:
    return sorted(str(a.patient_id) for a in appointments)


def test_my_day_is_the_clinicians_home(client_for, staff, today):
    response = client_for(staff["clinician"]).get(HOME)
    assert response.status_code == 200
    body = response.content.decode()
    assert "My day" in body
    assert "Fakewaiting" in body and "Fakeinroom" in body and "Fakebooked" in body
    assert "Fakecolleague" not in body and "Fakelater" not in body
    assert "waiting 12 min" in body and "waited 7 min" in body
    assert FAKE_VISIT_REASON in body
    chart = reverse("records:visit-list", kwargs={"patient_id": today["waiting"].patient_id})
    assert chart in body
    assert listed_patients() == patients_of(today["waiting"], today["in_room"], today["booked"])
    # The chart opens without breaking the glass: booked today, on the care team for the day.
    assert client_for(staff["clinician"]).get(chart).status_code == 200


def test_a_clinicians_step_from_my_day_returns_there(client_for, staff, today):
    clinician = client_for(staff["clinician"])
    step = reverse("scheduling:step", kwargs={"appointment_id": today["waiting"].pk})
    response = clinician.post(step, {"status": "in_room", "back": "home"})
    assert response.status_code == 302 and response["Location"] == HOME
    response = clinician.post(step, {"status": "seen", "back": "https://example.test/"})
    assert response["Location"].startswith(reverse("scheduling:day"))  # never a client's URL


def test_other_roles_homes_are_not_my_day(client_for, staff, today):
    """The front desk's home is its own (today's arrivals and who is expected next, each
    patient shown logged: tests/test_home_pages.py); the other roles' homes show no patient."""
    response = client_for(staff["frontdesk"]).get(HOME)
    assert response.status_code == 200 and b"My day" not in response.content
    for persona in ("analyst", "privacy", "admin"):
        before = len(events(access_log.APPOINTMENTS_LISTED))
        response = client_for(staff[persona]).get(HOME)
        assert response.status_code == 200 and b"My day" not in response.content
        assert len(events(access_log.APPOINTMENTS_LISTED)) == before


def test_the_front_desk_board_shows_every_clinicians_patients_without_reasons(
    client_for, staff, today
):
    response = client_for(staff["frontdesk"]).get(BOARD)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fakecolleague" in body and "t-clinician2" in body and "Fakelater" not in body
    assert FAKE_VISIT_REASON not in body
    assert "waiting 12 min" in body
    assert 'src="/static/js/flow-board.js"' in body and f'data-refresh-url="{ROWS}"' in body
    assert "<script>" not in body  # no inline script
    assert listed_patients() == patients_of(
        today["waiting"], today["in_room"], today["booked"], today["colleagues"]
    )


def test_the_clinicians_board_is_their_own(client_for, staff, today):
    body = client_for(staff["clinician"]).get(BOARD).content.decode()
    assert "Fakewaiting" in body and "Fakecolleague" not in body


def test_a_refresh_logs_only_patients_the_board_had_not_shown(client_for, staff, today):
    desk = client_for(staff["frontdesk"])
    desk.get(BOARD)
    assert len(events(access_log.APPOINTMENTS_LISTED)) == 4
    rows = desk.get(ROWS)
    assert rows.status_code == 200 and rows["Content-Type"].startswith("text/html")
    assert b"Fakewaiting" in rows.content and b"<html" not in rows.content
    assert len(events(access_log.APPOINTMENTS_LISTED)) == 4
    walk_in = AppointmentFactory(
        clinician=staff["clinician2"],
        patient=PatientFactory(first_name="Fakewalkin"),
        starts_at=today_at(3),
    )
    assert b"Fakewalkin" in desk.get(ROWS).content
    new = events(access_log.APPOINTMENTS_LISTED)[4:]
    assert [str(e.patient_id) for e in new] == [str(walk_in.patient_id)]


def test_the_refresh_never_renews_the_idle_session(client_for, staff, today):
    desk = client_for(staff["frontdesk"])
    desk.get(BOARD)
    session = desk.session
    session[SESSION_TIMEOUT_KEY] = session[SESSION_TIMEOUT_KEY] - 100
    session.save()
    before = desk.session[SESSION_TIMEOUT_KEY]
    assert desk.get(ROWS).status_code == 200
    assert desk.session[SESSION_TIMEOUT_KEY] == before
    desk.get(BOARD)  # the page itself is activity
    assert desk.session[SESSION_TIMEOUT_KEY] > before


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_get_no_board(client_for, staff, today, persona):
    client = client_for(staff[persona])
    assert client.get(BOARD).status_code == 403
    assert client.get(ROWS).status_code == 403
    assert len(events(access_log.ACCESS_REFUSED)) == 2
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_signed_out_the_refresh_shows_nothing(client, today):
    response = client.get(ROWS)
    assert response.status_code == 302 and b"Fake" not in response.content


def test_a_future_day_is_not_on_the_board(client_for, staff):
    AppointmentFactory(clinician=staff["clinician"], patient=PatientFactory(first_name="Fakelater"))
    body = client_for(staff["frontdesk"]).get(BOARD).content.decode()
    assert "No appointments today" in body and "Fakelater" not in body
    assert FUTURE_MONDAY > timezone.localdate()
