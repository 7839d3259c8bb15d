"""One visit, with its decrypted notes: for the treating clinician only. A clinician outside the
care team is refused as on the patient's visit list (403, the way to break the glass), whatever
URL they craft; the refusal is tied to the patient."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from clinic import access_log
from tests.factories import FAKE_NOTE, CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events, without_tokens

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def visit(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"], diagnosis_code="I10")


def detail(visit) -> str:
    return reverse("records:visit-detail", kwargs={"record_id": visit.pk})


def edit(visit) -> str:
    return reverse("records:visit-edit", kwargs={"record_id": visit.pk})


def test_treating_clinician_reads_the_full_record(client_for, staff, visit):
    response = client_for(staff["clinician"]).get(detail(visit))
    assert response.status_code == 200
    body = response.content.decode()
    assert FAKE_NOTE in body
    assert "I10" in body and "Essential (primary) hypertension" in body
    [event] = events(access_log.RECORD_VIEWED)
    assert event.object_id == str(visit.pk)
    assert event.patient_id == visit.patient_id


@pytest.mark.parametrize("page", [detail, edit])
def test_other_clinician_cannot_reach_the_record_by_crafted_url(client_for, staff, visit, page):
    client = client_for(staff["clinician2"])
    response = client.get(page(visit))
    assert response.status_code == 403
    assert b"sentinel-note" not in response.content
    assert b"I10" not in without_tokens(response.content)
    assert f"/break-glass/{visit.patient_id}/".encode() in response.content
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.staff_id == staff["clinician2"].pk
    assert event.object_id == str(visit.pk)
    assert event.patient_id == visit.patient_id
    assert (event.outcome, event.reason) == ("403", "not on care team")
    assert events(access_log.RECORD_VIEWED) == []


def test_crafted_edit_by_other_clinician_changes_nothing(client_for, staff, visit):
    response = client_for(staff["clinician2"]).post(
        edit(visit),
        {"visit_date": "2024-01-01", "diagnosis_code": "J06.9", "notes": "x", "version": "1"},
    )
    assert response.status_code == 403
    visit.refresh_from_db(using="owner")
    assert (visit.diagnosis_code, visit.version) == ("I10", 1)


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin", "outsider"])
@pytest.mark.parametrize("page", [detail, edit])
def test_non_clinicians_are_refused(client_for, staff, visit, persona, page):
    response = client_for(staff[persona]).get(page(visit))
    assert response.status_code == 403
    assert b"sentinel-note" not in response.content
    assert b"I10" not in without_tokens(response.content)
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.staff_id == staff[persona].pk
    assert (event.patient_id, event.object_id) == (visit.patient_id, str(visit.pk))


def test_unknown_record_is_not_found(client_for, staff):
    response = client_for(staff["clinician"]).get(
        reverse("records:visit-detail", kwargs={"record_id": uuid.uuid4()})
    )
    assert response.status_code == 404
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id is None


def test_anonymous_visitor_is_sent_to_sign_in(client, visit):
    assert client.get(detail(visit))["Location"].startswith("/account/sign-in/")
