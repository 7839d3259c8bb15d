"""The visit list of a patient: full for the treating clinician, dates and providers for the
front desk, a break-the-glass refusal for other clinicians, 403 for everyone else."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.urls import reverse

from clinic import access_log
from tests.factories import (
    FAKE_NOTE,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def chart(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    visit = ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], diagnosis_code="E11.9"
    )
    return patient, visit


def url(patient) -> str:
    return reverse("records:visit-list", kwargs={"patient_id": patient.pk})


def test_treating_clinician_sees_dates_providers_and_diagnoses(client_for, staff, chart):
    patient, visit = chart
    response = client_for(staff["clinician"]).get(url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert "2024-03-04" in body
    assert "E11.9" in body
    assert "Type 2 diabetes mellitus without complications" in body
    assert reverse("records:visit-detail", kwargs={"record_id": visit.pk}) in body
    assert FAKE_NOTE not in body
    [event] = events(access_log.RECORD_VIEWED)
    assert event.patient_id == patient.pk
    assert event.staff_id == staff["clinician"].pk


def test_front_desk_sees_dates_and_providers_but_never_diagnosis_or_notes(client_for, staff, chart):
    patient, _visit = chart
    staff["clinician"].first_name, staff["clinician"].last_name = "Casey", "Provider"
    staff["clinician"].save(using="owner")
    response = client_for(staff["frontdesk"]).get(url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert "2024-03-04" in body
    assert "Casey Provider" in body
    assert "E11" not in body
    assert "diabetes" not in body.lower()
    assert "sentinel-note" not in body
    assert reverse("records:visit-new", kwargs={"patient_id": patient.pk}) not in body
    [event] = events(access_log.CHART_VIEWED)
    assert event.patient_id == patient.pk


def test_clinician_not_on_care_team_gets_refusal_with_break_glass_link(client_for, staff, chart):
    patient, _visit = chart
    response = client_for(staff["clinician2"]).get(url(patient))
    assert response.status_code == 403
    body = response.content.decode()
    assert "not on this patient" in body
    assert f'href="/break-glass/{patient.pk}/?next=' in body
    assert "E11" not in body and "Testperson" not in body
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == patient.pk
    assert event.staff_id == staff["clinician2"].pk
    assert event.outcome == "403"
    assert event.reason == "not on care team"
    assert events(access_log.RECORD_VIEWED) == []


def test_clinician_with_break_glass_grant_sees_the_list(client_for, staff, chart):
    patient, _visit = chart
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    response = client_for(staff["clinician2"]).get(url(patient))
    assert response.status_code == 200
    assert b"E11.9" in response.content


def test_ended_care_team_assignment_no_longer_gives_access(client_for, staff):
    patient = PatientFactory()
    CareTeamMemberFactory(
        staff=staff["clinician"],
        patient=patient,
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2021, 1, 1),
    )
    response = client_for(staff["clinician"]).get(url(patient))
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused(client_for, staff, chart, persona):
    patient, _visit = chart
    response = client_for(staff[persona]).get(url(patient))
    assert response.status_code == 403
    assert b"E11.9" not in response.content and b"diabetes" not in response.content
    # No way to break the glass is offered to a role that may not (the privacy officer's own
    # navigation links to the reviews, /privacy/break-glass/, which is not this).
    assert str(patient.pk).encode() not in response.content
    assert b'href="/break-glass/' not in response.content
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.staff_id == staff[persona].pk


def test_anonymous_visitor_is_sent_to_sign_in(client, chart):
    patient, _visit = chart
    response = client.get(url(patient))
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_unknown_patient_is_not_found_and_logged(client_for, staff):
    missing = uuid.uuid4()
    response = client_for(staff["frontdesk"]).get(
        reverse("records:visit-list", kwargs={"patient_id": missing})
    )
    assert response.status_code == 404
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == missing
    assert event.outcome == "404"


def test_patient_links_include_renders_visit_and_care_team_links(staff, chart):
    from django.template.loader import render_to_string

    patient, _visit = chart
    new_visit = reverse("records:visit-new", kwargs={"patient_id": patient.pk})
    for may_record in (True, False):
        html = render_to_string(
            "includes/patient_clinical_links.html",
            {"patient": patient, "may_record_visit": may_record},
        )
        assert reverse("records:visit-list", kwargs={"patient_id": patient.pk}) in html
        assert reverse("records:care-team", kwargs={"patient_id": patient.pk}) in html
        assert (new_visit in html) is may_record
