"""The designated record set carries the addenda and the chart (45 CFR 164.524, issue #19): in the
FHIR Bundle (parsed and validated by fhir.resources) each addendum is a DocumentReference that
`appends` its note's, problems are Conditions (problem-list-item), allergies AllergyIntolerance
(and "no known allergies" the SNOMED CT statement), medications MedicationStatement, each vital
sign an Observation in the vital-signs category; the PDF prints them all. Only this patient's:
another patient's chart never appears. The database hands the privacy officer these rows only
through its functions, only for an open request (raw SQL refused otherwise)."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.db import DatabaseError
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from chart.models import AllergyReview
from tests.db_helpers import in_request, request_cursor
from tests.factories import (
    AccessRequestFactory,
    AllergyFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    VisitAddendumFactory,
    VitalSignsFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

OWN = "sentinel-own-7c1a"
OTHER = "sentinel-other-2f9e"
FUNCTIONS = ("addenda", "problems", "allergies", "allergy_review", "medications", "vital_signs")


def chart_for(patient, tag: str) -> dict:
    visit = ClinicalRecordFactory(
        patient=patient, signed=True, notes=f"Fake note {tag}", visit_date=date(2024, 2, 3)
    )
    return {
        "visit": visit,
        "addendum": VisitAddendumFactory(record=visit, text=f"Fake addendum {tag}"),
        "problem": ProblemFactory(patient=patient, icd10_code="I10", note=f"Fake note {tag}"),
        "resolved": ProblemFactory(
            patient=patient,
            icd10_code="J069",
            onset_date=date(2023, 1, 2),
            status="resolved",
            resolved_on=date(2023, 1, 20),
            note="",
        ),
        "allergy": AllergyFactory(patient=patient, substance=f"Fakecillin {tag}"),
        "allergy_error": AllergyFactory(
            patient=patient, substance=f"Fakemistake {tag}", status="entered_in_error"
        ),
        "medication": MedicationFactory(patient=patient, name=f"Fakepril {tag}"),
        "vitals": VitalSignsFactory(patient=patient),
    }


@pytest.fixture
def charts():
    own = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    other = PatientFactory(first_name="Otherpatient", last_name="Qwxyz")
    return own, chart_for(own, OWN), other, chart_for(other, OTHER)


def export(client, request, export_format: str) -> bytes:
    response = client.post(
        f"/privacy/rights/patients/{request.patient_id}/requests/{request.pk}"
        f"/export/{export_format}/"
    )
    assert response.status_code == 200
    return response.content


def of_type(resources, kind: str) -> list:
    return [r for r in resources if r.__resource_type__ == kind]


def test_bundle_carries_addenda_and_the_chart_as_their_resources(staff, client_for, charts):
    own, mine, other, _theirs = charts
    request = AccessRequestFactory(patient=own, format="fhir")
    content = export(client_for(staff["privacy"]), request, "fhir")
    text = content.decode()
    assert OTHER not in text and str(other.pk) not in text
    bundle = Bundle.model_validate(json.loads(content))
    resources = [entry.resource for entry in bundle.entry]
    for resource in resources:
        subject = getattr(resource, "subject", None) or getattr(resource, "patient", None)
        if subject is not None:
            assert subject.reference == f"Patient/{own.pk}"
    # The addendum appends the note's DocumentReference and carries its text.
    documents = of_type(resources, "DocumentReference")
    [addendum] = [d for d in documents if d.id == str(mine["addendum"].pk)]
    [note] = [d for d in documents if d.id != addendum.id]
    assert addendum.relatesTo[0].code == "appends"
    assert addendum.relatesTo[0].target.reference == f"DocumentReference/{note.id}"
    assert addendum.content[0].attachment.data.decode() == f"Fake addendum {OWN}"
    assert addendum.type.coding[0].code == "55107-7"
    assert addendum.context.encounter[0].reference == f"Encounter/{mine['visit'].pk}"
    # Problems: problem-list-item Conditions with their clinical status and dates.
    problems = {
        c.id: c
        for c in of_type(resources, "Condition")
        if c.category[0].coding[0].code == "problem-list-item"
    }
    assert set(problems) == {str(mine["problem"].pk), str(mine["resolved"].pk)}
    active, resolved = problems[str(mine["problem"].pk)], problems[str(mine["resolved"].pk)]
    assert (active.clinicalStatus.coding[0].code, active.code.coding[0].code) == ("active", "I10")
    assert active.note[0].text == f"Fake note {OWN}"
    assert resolved.clinicalStatus.coding[0].code == "resolved"
    assert str(resolved.abatementDateTime) == "2023-01-20"
    # Allergies: one confirmed with its reaction, one entered in error without clinical status.
    allergies = {a.code.text: a for a in of_type(resources, "AllergyIntolerance")}
    assert set(allergies) == {f"Fakecillin {OWN}", f"Fakemistake {OWN}"}
    confirmed = allergies[f"Fakecillin {OWN}"]
    assert confirmed.verificationStatus.coding[0].code == "confirmed"
    assert confirmed.reaction[0].manifestation[0].text == "Fake rash"
    assert confirmed.reaction[0].severity == "moderate"
    mistaken = allergies[f"Fakemistake {OWN}"]
    assert mistaken.verificationStatus.coding[0].code == "entered-in-error"
    assert mistaken.clinicalStatus is None
    # Medication: MedicationStatement with its route coded in SNOMED CT.
    [medication] = of_type(resources, "MedicationStatement")
    assert medication.medicationCodeableConcept.text == f"Fakepril {OWN}"
    assert medication.status == "active"
    assert medication.dosage[0].route.coding[0].code == "26643006"
    assert medication.dosage[0].text == "1 tablet once a day"
    # Vital signs: the BP panel with two components, heart rate, weight, height, BMI.
    observations = of_type(resources, "Observation")
    assert all(o.category[0].coding[0].code == "vital-signs" for o in observations)
    assert all(o.status == "final" for o in observations)
    by_code = {o.code.coding[0].code: o for o in observations}
    assert set(by_code) == {"85354-9", "8867-4", "29463-7", "8302-2", "39156-5"}
    panel = by_code["85354-9"]
    assert [(c.code.coding[0].code, int(c.valueQuantity.value)) for c in panel.component] == [
        ("8480-6", 128),
        ("8462-4", 82),
    ]
    assert by_code["8867-4"].valueQuantity.code == "/min"
    assert str(by_code["39156-5"].valueQuantity.value) == "24.7"


def test_no_known_allergies_is_exported_as_the_snomed_statement(staff, client_for):
    patient = PatientFactory()
    AllergyReview.objects.using("owner").create(
        patient=patient, no_known_allergies=True, recorded_by=staff["clinician"]
    )
    request = AccessRequestFactory(patient=patient, format="fhir")
    content = export(client_for(staff["privacy"]), request, "fhir")
    bundle = Bundle.model_validate(json.loads(content))
    [statement] = of_type([e.resource for e in bundle.entry], "AllergyIntolerance")
    assert statement.code.coding[0].code == "716186003"
    assert statement.verificationStatus.coding[0].code == "confirmed"


def test_pdf_prints_addenda_and_the_chart_of_this_patient_only(staff, client_for, charts):
    own, _mine, _other, _theirs = charts
    request = AccessRequestFactory(patient=own, format="pdf")
    content = export(client_for(staff["privacy"]), request, "pdf")
    whole = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    whole = " ".join(whole.split())
    for expected in (
        f"Fake addendum {OWN}",
        "Addendum 1,",
        "I10 Essential (primary) hypertension — Active",
        "J06.9",
        "resolved 2023-01-20",
        f"Fakecillin {OWN} — Active; reaction: Fake rash; moderate",
        f"Fakemistake {OWN} — Entered in error",
        f"Fakepril {OWN} 1 tablet once a day — oral, active",
        "Systolic blood pressure 128 mmHg",
        "Body mass index (computed) 24.7",
    ):
        assert expected in whole, expected
    assert OTHER not in whole and "Otherpatient" not in whole


@pytest.mark.parametrize("what", FUNCTIONS)
def test_the_functions_answer_the_privacy_officer_for_an_open_request_only(staff, charts, what):
    own, _mine, _other, _theirs = charts
    request = AccessRequestFactory(patient=own)
    query = f"SELECT count(*) FROM access_request_{what}(%s)"  # noqa: S608
    expected = 0 if what == "allergy_review" else 1
    expected = 2 if what in ("problems", "allergies") else expected
    assert in_request(staff["privacy"], query, [str(request.pk)]) == [(expected,)]
    # Other roles hold no EXECUTE right.
    for persona in ("frontdesk", "clinician", "analyst", "admin"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], query, [str(request.pk)])
    # Switching to the privacy officer's role without its verified identity: nothing.
    with request_cursor(staff["clinician"], switch_to="clinic_privacy_officer") as cursor:
        cursor.execute(query, [str(request.pk)])
        assert cursor.fetchone() == (0,)
    # Closed: nothing, even to the privacy officer.
    type(request).objects.using("owner").filter(pk=request.pk).update(
        outcome="denied",
        denial_ground="litigation",
        closed_on=timezone.localdate(),
        closed_by=staff["privacy"],
    )
    assert in_request(staff["privacy"], query, [str(request.pk)]) == [(0,)]


def test_the_privacy_officer_still_reads_no_chart_table_directly(staff, charts):
    own, _mine, _other, _theirs = charts
    AccessRequestFactory(patient=own)
    for table in ("visit_addenda", "chart_problems", "chart_allergies", "chart_medications"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff["privacy"], f"SELECT count(*) FROM {table}")  # noqa: S608
