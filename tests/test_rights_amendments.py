"""Amendment of a signed visit note (45 CFR 164.526): the privacy officer records the request
(patient found by MRN, POSTed), it is routed to the note's author and due in 60 days; the author
accepts it (the amendment is appended as their signed addendum, the note unchanged) or denies it
with a ground and a written reason; the privacy officer then records the patient's statement of
disagreement and a rebuttal, which every later export of the note carries. Every step is an
access-log event; bad input changes nothing; another clinician cannot see or decide it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from clinic import access_log
from records.models import ClinicalRecord, VisitAddendum
from rights.amendment_services import AMENDMENT_PREFIX
from rights.models import AmendmentRequest
from tests.factories import (
    AccessRequestFactory,
    AmendmentRequestFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


def decide_url(a) -> str:
    return f"/privacy/rights/routed/{a.pk}/"


def detail_url(a) -> str:
    return f"/privacy/rights/patients/{a.patient_id}/amendments/{a.pk}/"


@pytest.fixture
def signed_visit(staff):
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return ClinicalRecordFactory(
        patient=patient,
        provider=staff["clinician"],
        signed=True,
        notes="Fake note: sentinel-left-knee",
    )


def test_privacy_officer_records_a_request_routed_to_the_author(staff, client_for, signed_visit):
    client = client_for(staff["privacy"])
    patient = signed_visit.patient
    response = client.post("/privacy/rights/amendments/find/", {"mrn": patient.mrn})
    assert response.url == f"/privacy/rights/patients/{patient.pk}/amendments/new/"
    page = client.get(response.url).content.decode()
    assert str(signed_visit.pk) in page and "sentinel-left-knee" not in page
    today = timezone.localdate()
    response = client.post(
        response.url,
        {
            "record": str(signed_visit.pk),
            "received_on": today.isoformat(),
            "received_how": "mail",
            "requested": "Fake request: right knee, not left",
        },
    )
    created = AmendmentRequest.objects.using("owner").get(patient_id=patient.pk)
    assert response.status_code == 302 and response.url == detail_url(created)
    assert created.routed_to_id == staff["clinician"].pk
    assert created.recorded_by_id == staff["privacy"].pk
    assert created.due_on == today + timedelta(days=60)
    assert created.requested == "Fake request: right knee, not left"
    [event] = events(access_log.AMENDMENT_REQUEST_RECORDED)
    assert (event.patient_id, event.object_id) == (patient.pk, str(created.pk))
    # On the privacy officer's home clock, 60 days left.
    home = client.get("/").content.decode()
    assert detail_url(created) in home and "60 days left" in home


def test_bad_input_changes_nothing(staff, client_for, signed_visit):
    patient = signed_visit.patient
    response = client_for(staff["privacy"]).post(
        f"/privacy/rights/patients/{patient.pk}/amendments/new/",
        {
            "record": str(signed_visit.pk),
            "received_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
            "received_how": "mail",
            "requested": "  ",
        },
    )
    assert response.status_code == 400
    assert "cannot be received in the future" in response.content.decode()
    assert not AmendmentRequest.objects.using("owner").exists()


def test_author_accepts_the_amendment_is_appended_the_note_kept(staff, client_for, signed_visit):
    amendment = AmendmentRequestFactory(record=signed_visit)
    client = client_for(staff["clinician"])
    home = client.get("/").content.decode()
    assert "1 patient request to amend a note you signed or a chart entry" in home
    amendment.refresh_from_db(using="owner")
    assert f"the first due {amendment.due_on:%Y-%m-%d}" in home
    assert "/privacy/rights/routed/" in home
    assert (
        "amendments-routed-title" not in client_for(staff["clinician2"]).get("/").content.decode()
    )
    client = client_for(staff["clinician"])
    listed = client.get("/privacy/rights/routed/").content.decode()
    assert decide_url(amendment) in listed
    response = client.post(
        decide_url(amendment),
        {
            "decision": "accept",
            "amendment": "Fake amendment: the right knee was examined.",
            "notify": "Fake physiotherapist",
        },
    )
    assert response.status_code == 302
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "accepted" and amendment.decided_by_id == staff["clinician"].pk
    assert amendment.notify == "Fake physiotherapist"
    addendum = VisitAddendum.objects.using("owner").get(pk=amendment.addendum_id)
    assert addendum.text == AMENDMENT_PREFIX + "Fake amendment: the right knee was examined."
    assert addendum.author_id == staff["clinician"].pk
    note = ClinicalRecord.objects.using("owner").get(pk=signed_visit.pk)
    assert note.notes == "Fake note: sentinel-left-knee"
    assert len(events(access_log.AMENDMENT_DECIDED, patient_id=signed_visit.patient_id)) == 1
    assert len(events(access_log.ADDENDUM_ADDED, patient_id=signed_visit.patient_id)) == 1
    # A decision never changes.
    client.post(decide_url(amendment), {"decision": "deny", "denial_ground": "accurate"})
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "accepted"
    # Both sides' pages show the decision (the privacy officer reads no addendum text).
    assert "Accepted (amended)" in client.get(decide_url(amendment)).content.decode()
    page = client_for(staff["privacy"]).get(detail_url(amendment))
    assert page.status_code == 200 and "Accepted (amended)" in page.content.decode()
    assert "the right knee was examined" not in page.content.decode()


def test_denial_disagreement_and_rebuttal_travel_with_later_exports(
    staff, client_for, signed_visit
):
    amendment = AmendmentRequestFactory(record=signed_visit)
    author = client_for(staff["clinician"])
    # A denial without its written reason: refused on the form, nothing changes.
    response = author.post(decide_url(amendment), {"decision": "deny", "denial_ground": "accurate"})
    assert response.status_code == 400
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "open"
    author.post(
        decide_url(amendment),
        {
            "decision": "deny",
            "denial_ground": "accurate",
            "denial_reason": "Fake reason: sentinel-denial-reason",
        },
    )
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "denied"
    officer = client_for(staff["privacy"])
    for step, text in (
        ("disagreement", "Fake statement: sentinel-disagreement"),
        ("rebuttal", "Fake rebuttal: sentinel-rebuttal"),
    ):
        response = officer.post(detail_url(amendment) + f"{step}/", {"text": text})
        assert response.status_code == 302
    amendment.refresh_from_db(using="owner")
    assert amendment.disagreement_on == timezone.localdate() and amendment.rebuttal
    assert len(events(access_log.AMENDMENT_DISAGREEMENT_RECORDED)) == 1
    assert len(events(access_log.AMENDMENT_REBUTTAL_RECORDED)) == 1
    request = AccessRequestFactory(patient=signed_visit.patient, format="both")
    base = f"/privacy/rights/patients/{request.patient_id}/requests/{request.pk}/export/"
    content = officer.post(base + "fhir/").content
    bundle = Bundle.model_validate(json.loads(content))
    documents = [
        e.resource for e in bundle.entry if e.resource.__resource_type__ == "DocumentReference"
    ]
    texts = {d.type.text: d.content[0].attachment.data.decode() for d in documents if d.type.text}
    assert "sentinel-disagreement" in texts["Statement of disagreement (45 CFR 164.526(d)(1)(iii))"]
    assert "sentinel-rebuttal" in texts["Rebuttal (45 CFR 164.526(d)(3))"]
    assert "sentinel-denial-reason" in texts["Denial of amendment (45 CFR 164.526(d))"]
    [note] = [d for d in documents if not d.type.text]
    assert all(
        d.relatesTo[0].target.reference == f"DocumentReference/{note.id}"
        for d in documents
        if d.type.text
    )
    import io

    from pypdf import PdfReader

    pdf = officer.post(base + "pdf/").content
    whole = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    for sentinel in ("sentinel-disagreement", "sentinel-rebuttal", "sentinel-denial-reason"):
        assert sentinel in whole


def test_another_clinician_neither_sees_nor_decides(staff, client_for, signed_visit):
    amendment = AmendmentRequestFactory(record=signed_visit)
    client = client_for(staff["clinician2"])
    assert decide_url(amendment) not in client.get("/privacy/rights/routed/").content.decode()
    response = client.post(
        decide_url(amendment), {"decision": "accept", "amendment": "Fake amendment"}
    )
    assert response.status_code == 404
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "open"


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "admin", "clinician"])
def test_the_privacy_officers_pages_refuse_other_roles(staff, client_for, persona):
    amendment = AmendmentRequestFactory()
    response = client_for(staff[persona]).get(detail_url(amendment))
    assert response.status_code == 403
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == amendment.patient_id
