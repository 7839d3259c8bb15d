"""The patient summary: masked identifiers, reveal one identifier by POST (logged), refusals."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.urls import reverse

from clinic import access_log
from tests.factories import BreakGlassGrantFactory, CareTeamMemberFactory, PatientFactory
from tests.patient_support import access_events
from tests.privacy_helpers import without_tokens

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def patient(staff):
    return PatientFactory(ssn="900-12-3456", phone="202-555-0142", date_of_birth=date(1981, 6, 15))


def detail_url(patient_id) -> str:
    return reverse("patients:detail", kwargs={"patient_id": patient_id})


def reveal_url(patient_id) -> str:
    return reverse("patients:reveal", kwargs={"patient_id": patient_id})


@pytest.mark.parametrize("persona", ["frontdesk", "clinician"])
def test_summary_masks_identifiers_and_logs_the_view(client_for, staff, patient, persona):
    response = client_for(staff[persona]).get(detail_url(patient.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Testperson, Alex" in body
    assert patient.mrn in body
    assert "***-**-3456" in body and "900-12-3456" not in body
    assert "(***) ***-0142" in body and "555-0142" not in body
    assert "1981" in body and "1981-06-15" not in body and "June" not in body
    assert "MA" in body
    assert "Reveal SSN" in body and "Reveal date of birth" in body
    events = access_events(access_log.CHART_VIEWED)
    assert [(e["patient_id"], e["staff_id"]) for e in events] == [(patient.pk, staff[persona].pk)]


def test_only_front_desk_sees_the_edit_link(client_for, staff, patient):
    edit = reverse("patients:edit", kwargs={"patient_id": patient.pk}).encode()
    assert edit in client_for(staff["frontdesk"]).get(detail_url(patient.pk)).content
    assert edit not in client_for(staff["clinician"]).get(detail_url(patient.pk)).content


def test_record_a_visit_is_offered_only_where_it_will_not_be_refused(client_for, staff, patient):
    new_visit = reverse("records:visit-new", kwargs={"patient_id": patient.pk}).encode()
    for persona in ("frontdesk", "clinician", "clinician2"):
        assert new_visit not in client_for(staff[persona]).get(detail_url(patient.pk)).content
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    for persona in ("clinician", "clinician2"):
        clinician = client_for(staff[persona])
        assert new_visit in clinician.get(detail_url(patient.pk)).content
        assert clinician.get(new_visit.decode()).status_code == 200


def test_reveal_ssn_shows_it_in_full_and_logs_an_event(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).post(reveal_url(patient.pk), {"identifier": "ssn"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "900-12-3456" in body
    assert "1981-06-15" not in body
    events = access_events(access_log.IDENTIFIER_REVEALED)
    assert [(e["patient_id"], e["reason"]) for e in events] == [(patient.pk, "ssn")]
    assert response.request["PATH_INFO"] == reveal_url(patient.pk)


def test_reveal_date_of_birth_shows_only_that(client_for, staff, patient):
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    response = client_for(staff["clinician"]).post(reveal_url(patient.pk), {"identifier": "dob"})
    body = response.content.decode()
    assert "1981-06-15" in body
    assert "900-12-3456" not in body
    events = access_events(access_log.IDENTIFIER_REVEALED)
    assert [(e["reason"], e["staff_id"]) for e in events] == [("dob", staff["clinician"].pk)]


def test_a_clinician_reveals_only_for_their_care_team_or_under_a_grant(client_for, staff, patient):
    client = client_for(staff["clinician"])
    refused = client.post(reveal_url(patient.pk), {"identifier": "ssn"})
    assert refused.status_code == 403
    assert b"900-12-3456" not in refused.content
    assert access_events(access_log.IDENTIFIER_REVEALED) == []
    [event] = access_events(access_log.ACCESS_REFUSED)
    assert (event["patient_id"], event["reason"]) == (patient.pk, "not on care team")
    BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    allowed = client.post(reveal_url(patient.pk), {"identifier": "ssn"})
    assert allowed.status_code == 200 and b"900-12-3456" in allowed.content


def test_reveal_by_get_is_refused(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).get(reveal_url(patient.pk), {"identifier": "ssn"})
    assert response.status_code == 405
    assert b"900-12-3456" not in response.content
    assert access_events(access_log.IDENTIFIER_REVEALED) == []


@pytest.mark.parametrize("identifier", ["", "address", "ssn\x00"])
def test_reveal_of_an_unknown_identifier_shows_nothing(client_for, staff, patient, identifier):
    response = client_for(staff["frontdesk"]).post(
        reveal_url(patient.pk), {"identifier": identifier}
    )
    assert response.status_code == 400
    assert b"900-12-3456" not in response.content
    assert access_events(access_log.IDENTIFIER_REVEALED) == []


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_the_summary_and_the_reveal(client_for, staff, patient, persona):
    client = client_for(staff[persona])
    assert client.get(detail_url(patient.pk)).status_code == 403
    response = client.post(reveal_url(patient.pk), {"identifier": "ssn"})
    assert response.status_code == 403
    assert b"3456" not in without_tokens(response.content)
    refusals = access_events(access_log.ACCESS_REFUSED)
    assert [(e["patient_id"], e["reason"], e["outcome"]) for e in refusals] == [
        (patient.pk, "role", "403")
    ] * 2
    assert access_events(access_log.CHART_VIEWED) == []
    assert access_events(access_log.IDENTIFIER_REVEALED) == []


@pytest.mark.parametrize("persona", ["frontdesk", "clinician"])
def test_unknown_patient_is_not_found_and_logged(client_for, staff, persona):
    missing = uuid.uuid4()
    client = client_for(staff[persona])
    assert client.get(detail_url(missing)).status_code == 404
    assert client.post(reveal_url(missing), {"identifier": "ssn"}).status_code == 404
    refusals = access_events(access_log.ACCESS_REFUSED)
    assert [(e["patient_id"], e["reason"], e["outcome"]) for e in refusals] == [
        (missing, "not found", "404")
    ] * 2


def test_anonymous_visitor_is_sent_to_sign_in(client, patient):
    response = client.get(detail_url(patient.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
