"""The week view: one clinician's week, Monday to Sunday. The front desk chooses the clinician
(no visit reason); a clinician sees only their own week, with the reason, whatever clinician
the URL names. Each patient shown is logged once; other roles are refused and logged."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic import access_log
from tests.factories import (
    FAKE_VISIT_REASON,
    FUTURE_MONDAY,
    AppointmentFactory,
    PatientFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
WEEK = reverse("scheduling:week")


@pytest.fixture
def week(staff):
    patient = PatientFactory(first_name="Fakeweekly")
    sunday = FUTURE_MONDAY + datetime.timedelta(days=6)
    return {
        "monday": AppointmentFactory(clinician=staff["clinician"], patient=patient),
        "sunday": AppointmentFactory(
            clinician=staff["clinician"], patient=patient, starts_at=clinic_moment(sunday, 23)
        ),
        "next_monday": AppointmentFactory(
            clinician=staff["clinician"],
            patient=PatientFactory(first_name="Fakenextweek"),
            starts_at=clinic_moment(FUTURE_MONDAY + datetime.timedelta(days=7), 9),
        ),
        "colleague": AppointmentFactory(
            clinician=staff["clinician2"],
            patient=PatientFactory(first_name="Fakecolleague"),
            starts_at=clinic_moment(FUTURE_MONDAY, 10),
        ),
    }


def test_the_front_desk_sees_the_chosen_clinicians_week(client_for, staff, week):
    wednesday = FUTURE_MONDAY + datetime.timedelta(days=2)
    response = client_for(staff["frontdesk"]).get(
        WEEK, {"clinician": staff["clinician"].pk, "date": wednesday.isoformat()}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Week of {FUTURE_MONDAY:%Y-%m-%d}" in body
    assert "09:00" in body and "23:00" in body and "Fakeweekly" in body
    assert "Fakenextweek" not in body and "Fakecolleague" not in body
    assert FAKE_VISIT_REASON not in body
    [event] = events(access_log.APPOINTMENTS_LISTED)  # one patient, two appointments
    assert event.patient_id == week["monday"].patient_id


def test_without_a_clinician_the_front_desk_is_asked_to_choose(client_for, staff, week):
    response = client_for(staff["frontdesk"]).get(WEEK)
    assert b"Choose a clinician" in response.content
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_a_clinician_sees_only_their_own_week(client_for, staff, week):
    response = client_for(staff["clinician2"]).get(
        WEEK, {"clinician": staff["clinician"].pk, "date": FUTURE_MONDAY.isoformat()}
    )
    body = response.content.decode()
    assert "Fakecolleague" in body and "Fakeweekly" not in body
    assert FAKE_VISIT_REASON in body  # their own patient's reason
    [event] = events(access_log.APPOINTMENTS_LISTED)
    assert event.patient_id == week["colleague"].patient_id


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_get_no_week(client_for, staff, week, persona):
    response = client_for(staff[persona]).get(WEEK, {"clinician": staff["clinician"].pk})
    assert response.status_code == 403
    assert len(events(access_log.ACCESS_REFUSED)) == 1
    assert events(access_log.APPOINTMENTS_LISTED) == []


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "not-a-date"])
def test_a_date_out_of_reach_shows_this_week(client_for, staff, week, date):
    response = client_for(staff["frontdesk"]).get(
        WEEK, {"clinician": staff["clinician"].pk, "date": date}
    )
    assert response.status_code == 200
    day = client_for(staff["frontdesk"]).get(reverse("scheduling:day"), {"date": date})
    assert day.status_code == 200
