"""Fulfilling a right-of-access request (45 CFR 164.524): the designated record set as a PDF
(text extracted with pypdf) and as a FHIR Bundle (parsed and validated by fhir.resources), each
containing exactly this patient's data and no other patient's; the SHA-256 of each export stored
on the request and in the access log; the hand-over recorded as a disclosure to the individual,
left out of the accounting."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import date

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from clinic import access_log
from privacy.models import Disclosure
from rights.models import AccessRequest
from tests.factories import AccessRequestFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

OWN_NOTE = "Fake note: sentinel-own-4b2e, knee feels better."
OTHER_NOTE = "Fake note: sentinel-other-9d7c, must never be exported."


@pytest.fixture
def two_patients():
    own = PatientFactory(first_name="Testpatient", last_name="Zzyzx", phone="202-555-0147")
    other = PatientFactory(first_name="Otherpatient", last_name="Qwxyz", phone="202-555-0199")
    for day in (date(2024, 3, 4), date(2024, 5, 6)):
        ClinicalRecordFactory(patient=own, visit_date=day, notes=OWN_NOTE, diagnosis_code="M25561")
    ClinicalRecordFactory(patient=other, notes=OTHER_NOTE, diagnosis_code="J069")
    return own, other


def url(r, tail: str) -> str:
    return f"/privacy/rights/patients/{r.patient_id}/requests/{r.pk}/{tail}"


def produce(client, request, export_format: str) -> bytes:
    response = client.post(url(request, f"export/{export_format}/"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert str(request.patient_id) not in response["Content-Disposition"]
    return response.content


def test_pdf_holds_this_patient_only_with_the_name_on_every_page(staff, client_for, two_patients):
    own, other = two_patients
    # Enough visits for several pages.
    for month in range(1, 10):
        ClinicalRecordFactory(
            patient=own, visit_date=date(2023, month, 2), notes=OWN_NOTE + "\n" + "Line. " * 120
        )
    request = AccessRequestFactory(patient=own, format="pdf")
    content = produce(client_for(staff["privacy"]), request, "pdf")
    reader = PdfReader(io.BytesIO(content))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    produced = timezone.localdate().isoformat()[:4]
    for text in pages:
        assert "Testpatient Zzyzx" in text
        assert f"MRN {own.mrn}" in text
        assert "Produced " + produced in text
    whole = "\n".join(pages)
    assert "sentinel-own-4b2e" in whole
    assert "M25.561" in whole
    assert own.date_of_birth.isoformat() in whole
    assert "202-555-0147" in whole
    for foreign in ("Otherpatient", "Qwxyz", "sentinel-other-9d7c", other.mrn, "202-555-0199"):
        assert foreign not in whole
    request.refresh_from_db(using="owner")
    assert request.pdf_sha256 == hashlib.sha256(content).hexdigest()
    [event] = events(access_log.ACCESS_EXPORT_PRODUCED)
    assert (event.patient_id, event.object_id) == (own.pk, str(request.pk))
    assert event.reason == f"pdf sha256:{request.pdf_sha256}"


def test_fhir_bundle_validates_and_holds_this_patient_only(staff, client_for, two_patients):
    own, other = two_patients
    request = AccessRequestFactory(patient=own, format="fhir")
    content = produce(client_for(staff["privacy"]), request, "fhir")
    text = content.decode()
    for foreign in ("Otherpatient", "Qwxyz", "sentinel-other-9d7c", other.mrn, str(other.pk)):
        assert foreign not in text
    bundle = Bundle.model_validate(json.loads(content))
    resources = [entry.resource for entry in bundle.entry]
    kinds = [r.__resource_type__ for r in resources]
    assert kinds.count("Patient") == 1
    assert kinds.count("Encounter") == 2
    assert kinds.count("Condition") == 2
    assert kinds.count("DocumentReference") == 2
    [patient] = [r for r in resources if r.__resource_type__ == "Patient"]
    assert patient.id == str(own.pk)
    assert patient.name[0].family == "Zzyzx"
    assert patient.identifier[0].value == own.mrn
    assert str(patient.birthDate) == own.date_of_birth.isoformat()
    for resource in resources:
        if resource.__resource_type__ != "Patient":
            assert resource.subject.reference == f"Patient/{own.pk}"
    conditions = [r for r in resources if r.__resource_type__ == "Condition"]
    assert {c.code.coding[0].code for c in conditions} == {"M25.561"}
    # The JSON carries the note base64-encoded (base64Binary); the model gives it decoded.
    assert base64.b64encode(OWN_NOTE.encode()).decode() in text
    notes = [
        r.content[0].attachment.data.decode()
        for r in resources
        if r.__resource_type__ == "DocumentReference"
    ]
    assert notes == [OWN_NOTE, OWN_NOTE]
    request.refresh_from_db(using="owner")
    assert request.fhir_sha256 == hashlib.sha256(content).hexdigest()


def test_hand_over_is_a_disclosure_to_the_individual_left_out_of_the_accounting(
    staff, client_for, two_patients
):
    own, _other = two_patients
    request = AccessRequestFactory(patient=own, format="both")
    client = client_for(staff["privacy"])
    # Before any export: nothing to hand over.
    client.post(url(request, "hand-over/"))
    request.refresh_from_db(using="owner")
    assert request.handed_over_on is None
    produce(client, request, "pdf")
    produce(client, request, "fhir")
    assert client.post(url(request, "hand-over/")).status_code == 302
    request.refresh_from_db(using="owner")
    assert request.handed_over_on is not None
    [disclosure] = Disclosure.objects.using("owner").filter(patient_id=own.pk)
    assert disclosure.category == "to_individual"
    assert request.pdf_sha256 in disclosure.description
    assert request.fhir_sha256 in disclosure.description
    assert not Disclosure.objects.using("owner").accounting_for(own.pk).exists()
    assert len(events(access_log.ACCESS_EXPORT_HANDED_OVER, patient_id=own.pk)) == 1
    assert len(events(access_log.DISCLOSURE_RECORDED, patient_id=own.pk)) == 1
    response = client.post(url(request, "close/"), {"outcome": "fulfilled"})
    assert response.status_code == 302
    request.refresh_from_db(using="owner")
    assert request.outcome == "fulfilled"


def test_a_closed_request_produces_nothing(staff, client_for, two_patients):
    own, _other = two_patients
    request = AccessRequestFactory(patient=own, format="pdf")
    AccessRequest.objects.using("owner").filter(pk=request.pk).update(
        outcome="denied",
        denial_ground="litigation",
        closed_on=timezone.localdate(),
        closed_by=staff["privacy"],
    )
    response = client_for(staff["privacy"]).post(url(request, "export/pdf/"))
    assert response.status_code == 302
    assert not events(access_log.ACCESS_EXPORT_PRODUCED)


def test_a_format_not_asked_for_is_not_found(staff, client_for, two_patients):
    own, _other = two_patients
    request = AccessRequestFactory(patient=own, format="pdf")
    response = client_for(staff["privacy"]).post(url(request, "export/fhir/"))
    assert response.status_code == 404
    assert not events(access_log.ACCESS_EXPORT_PRODUCED)


def test_sex_and_gender_identity_are_exported_as_us_core_asks(staff, client_for):
    """Patient.gender from the administrative sex, US Core's genderIdentity extension from the
    (encrypted) gender identity; the PDF prints both."""
    patient = PatientFactory(administrative_sex="female", gender_identity="non_binary")
    client = client_for(staff["privacy"])
    request = AccessRequestFactory(patient=patient, format="both")
    bundle = Bundle.model_validate(json.loads(produce(client, request, "fhir")))
    [resource] = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "Patient"]
    assert resource.gender == "female"
    [extension] = resource.extension
    assert extension.url.endswith("us-core-genderIdentity")
    coding = extension.valueCodeableConcept.coding[0]
    assert (coding.system, coding.code) == ("http://snomed.info/sct", "33791000087105")
    pdf = PdfReader(io.BytesIO(produce(client, request, "pdf")))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Sex (administrative) Female" in text
    assert "Gender identity Identifies as non-binary" in text
    # Not recorded: no extension, and the PDF says so.
    unrecorded = PatientFactory(administrative_sex="unknown", gender_identity="")
    request = AccessRequestFactory(patient=unrecorded, format="fhir")
    bundle = Bundle.model_validate(json.loads(produce(client, request, "fhir")))
    [resource] = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "Patient"]
    assert (resource.gender, resource.extension) == ("unknown", None)
