"""Right-of-access requests in the privacy console (45 CFR 164.524): open requests by due date
with overdue ones flagged (the clinic's date), a new request for a patient found by MRN (POSTed),
a request's page, its one extension and its closing. The privacy officer only: every other
persona gets 403 and an access-log event tied to the patient; every step is logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic import access_log
from rights.models import AccessRequest
from tests.factories import AccessRequestFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


def detail_url(r) -> str:
    return f"/privacy/rights/patients/{r.patient_id}/requests/{r.pk}/"


def test_list_orders_open_requests_by_due_date_and_flags_overdue(staff, client_for):
    today = timezone.localdate()
    late = AccessRequestFactory(
        received_on=today - timedelta(days=31),
        patient=PatientFactory(first_name="Testpatient", last_name="Zzyzx"),
    )
    soon = AccessRequestFactory(received_on=today - timedelta(days=2))
    client = client_for(staff["privacy"])
    response = client.get("/privacy/rights/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index(detail_url(late)) < page.index(detail_url(soon))
    assert page.count("Overdue") == 1
    assert 'class="overdue"' in page
    listed = {e.patient_id for e in events(access_log.ACCESS_REQUESTS_LISTED)}
    assert listed == {late.patient_id, soon.patient_id}


def test_new_request_for_a_patient_found_by_mrn(staff, client_for):
    patient = PatientFactory()
    client = client_for(staff["privacy"])
    response = client.post("/privacy/rights/find/", {"mrn": patient.mrn})
    assert response.status_code == 302
    assert response.url == f"/privacy/rights/patients/{patient.pk}/requests/new/"
    today = timezone.localdate()
    response = client.post(
        response.url,
        {
            "received_on": today.isoformat(),
            "received_how": "mail",
            "verified_how": "photo_id",
            "requested": "Fake request: all visit notes",
            "format": "both",
            "delivery": "pickup",
        },
    )
    created = AccessRequest.objects.using("owner").get(patient_id=patient.pk)
    assert response.status_code == 302
    assert response.url == detail_url(created)
    assert created.due_on == today + timedelta(days=30)
    assert created.verified_by_id == staff["privacy"].pk
    assert created.requested == "Fake request: all visit notes"
    [event] = events(access_log.ACCESS_REQUEST_RECORDED)
    assert (event.patient_id, event.object_id) == (patient.pk, str(created.pk))


def test_unknown_mrn_is_a_message_not_a_page(staff, client_for):
    response = client_for(staff["privacy"]).post("/privacy/rights/find/", {"mrn": "000000000"})
    assert response.status_code == 302
    assert response.url == "/privacy/rights/"


def test_bad_input_changes_nothing(staff, client_for):
    patient = PatientFactory()
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client_for(staff["privacy"]).post(
        f"/privacy/rights/patients/{patient.pk}/requests/new/",
        {
            "received_on": tomorrow.isoformat(),
            "received_how": "mail",
            "verified_how": "photo_id",
            "requested": "   ",
            "format": "pdf",
            "delivery": "pickup",
        },
    )
    assert response.status_code == 200
    assert b"cannot be received in the future" in response.content
    assert set(response.context["form"].errors) == {"received_on", "requested"}
    assert not AccessRequest.objects.using("owner").exists()


def test_extend_once_then_the_form_is_gone(staff, client_for):
    request = AccessRequestFactory()
    client = client_for(staff["privacy"])
    url = detail_url(request)
    response = client.post(url + "extend/", {"reason": "Fake reason: records offsite"})
    assert response.status_code == 302
    request.refresh_from_db(using="owner")
    assert request.due_on == request.received_on + timedelta(days=60)
    assert request.extension_reason == "Fake reason: records offsite"
    assert len(events(access_log.ACCESS_REQUEST_EXTENDED)) == 1
    response = client.post(url + "extend/", {"reason": "Again"})
    assert response.status_code == 400
    assert b"already extended once" in response.content
    request.refresh_from_db(using="owner")
    assert request.due_on == request.received_on + timedelta(days=60)


def test_no_extension_once_overdue(staff, client_for):
    request = AccessRequestFactory(received_on=timezone.localdate() - timedelta(days=40))
    client = client_for(staff["privacy"])
    page = client.get(detail_url(request)).content.decode()
    assert "Overdue" in page and "Extend once" not in page
    response = client.post(detail_url(request) + "extend/", {"reason": "Too late"})
    assert response.status_code == 400
    assert b"due date has passed" in response.content


def test_close_as_denied_with_its_ground(staff, client_for):
    request = AccessRequestFactory()
    client = client_for(staff["privacy"])
    response = client.post(detail_url(request) + "close/", {"outcome": "denied"})
    assert response.status_code == 400
    assert b"A denial names its ground" in response.content
    response = client.post(
        detail_url(request) + "close/", {"outcome": "fulfilled", "denial_ground": ""}
    )
    assert b"Record the hand-over of the export first" in response.content
    response = client.post(
        detail_url(request) + "close/",
        {"outcome": "denied", "denial_ground": "litigation", "note": "Fake note"},
    )
    assert response.status_code == 302
    request.refresh_from_db(using="owner")
    assert (request.outcome, request.closed_on) == ("denied", timezone.localdate())
    [event] = events(access_log.ACCESS_REQUEST_CLOSED)
    assert (event.patient_id, event.reason) == (request.patient_id, "denied")


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin", "outsider"])
def test_other_roles_are_refused_and_logged(staff, client_for, persona):
    request = AccessRequestFactory()
    client = client_for(staff[persona])
    base = detail_url(request)
    for method, url in [
        ("get", "/privacy/rights/"),
        ("get", base),
        ("get", f"/privacy/rights/patients/{request.patient_id}/requests/new/"),
        ("post", base + "extend/"),
        ("post", base + "export/pdf/"),
        ("post", base + "export/fhir/"),
        ("post", base + "hand-over/"),
        ("post", base + "close/"),
    ]:
        assert getattr(client, method)(url).status_code == 403, url
    refused = events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)
    assert len(refused) == 8
    assert sum(1 for e in refused if e.patient_id == request.patient_id) == 7
    request.refresh_from_db(using="owner")
    assert request.pdf_sha256 == "" and request.extended_on is None


def test_another_patients_id_in_the_url_is_not_found(staff, client_for):
    request = AccessRequestFactory()
    other = PatientFactory()
    response = client_for(staff["privacy"]).get(
        f"/privacy/rights/patients/{other.pk}/requests/{request.pk}/"
    )
    assert response.status_code == 404
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == other.pk
