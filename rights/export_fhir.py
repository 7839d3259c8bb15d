"""The designated record set (rights/record_set.py) as a FHIR R4 JSON Bundle validated by
`fhir.resources`: the Patient, each visit (Encounter, Condition, the note and its addenda as
DocumentReferences), the chart (rights/fhir_chart.py) and the amendments attached to its items.
The FHIR mapping is docs/rights.md.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from records import icd10
from rights import fhir_chart
from rights.amendment_models import DEMOGRAPHIC, DEMOGRAPHIC_FIELDS
from rights.record_set import Addendum, RecordSet, Visit

# Stable ids for resources derived from one visit (the Condition and the DocumentReference).
RESOURCE_NAMESPACE = fhir_chart.RESOURCE_NAMESPACE
MRN_SYSTEM = "urn:clinic:mrn"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def _derived_id(record_id: uuid.UUID, kind: str) -> str:
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{record_id}/{kind}"))


# US Core's gender identity extension and its codes (SNOMED CT findings; HL7 null flavours for
# "other", "asked but declined", "unknown"), by the meaning of patients.models.GENDER_IDENTITIES.
GENDER_IDENTITY_EXTENSION = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-genderIdentity"
_SNOMED = "http://snomed.info/sct"
_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
GENDER_IDENTITY_CODES = {
    "female": (_SNOMED, "446141000124107", "Identifies as female gender (finding)"),
    "male": (_SNOMED, "446151000124109", "Identifies as male gender (finding)"),
    "non_binary": (_SNOMED, "33791000087105", "Identifies as nonbinary gender (finding)"),
    "other": (_NULL_FLAVOR, "OTH", "other"),
    "asked_declined": (_NULL_FLAVOR, "ASKU", "asked but unknown"),
    "unknown": (_NULL_FLAVOR, "UNK", "unknown"),
}


def _patient_resource(data: RecordSet) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(data.patient_id),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": MRN_SYSTEM,
                "value": data.mrn,
            }
        ],
        "name": [{"use": "official", "family": data.last_name, "given": [data.first_name]}],
    }
    if data.administrative_sex:
        resource["gender"] = data.administrative_sex  # the FHIR administrative-gender codes
    if data.gender_identity in GENDER_IDENTITY_CODES:
        system, code, display = GENDER_IDENTITY_CODES[data.gender_identity]
        resource["extension"] = [
            {
                "url": GENDER_IDENTITY_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": system, "code": code, "display": display}]
                },
            }
        ]
    if data.date_of_birth:
        resource["birthDate"] = data.date_of_birth.isoformat()
    telecom = []
    if data.phone:
        telecom.append({"system": "phone", "value": data.phone})
    if data.email:
        telecom.append({"system": "email", "value": data.email})
    if telecom:
        resource["telecom"] = telecom
    if data.address or data.state:
        address: dict[str, Any] = {"use": "home", "country": "US"}
        if data.address:
            address["text"] = data.address
        if data.state:
            address["state"] = data.state
        resource["address"] = [address]
    return resource


def _visit_resources(data: RecordSet, visit: Visit) -> list[dict[str, Any]]:
    patient_ref = {"reference": f"Patient/{data.patient_id}"}
    encounter_id = str(visit.record_id)
    condition_id = _derived_id(visit.record_id, "condition")
    day = visit.visit_date.isoformat()
    encounter = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "meta": {"profile": [US_CORE + "us-core-encounter"]},
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "308335008",
                        "display": "Patient encounter procedure",
                    }
                ],
                "text": "Clinic visit",
            }
        ],
        "subject": patient_ref,
        "participant": [{"individual": {"display": visit.provider}}],
        "period": {"start": day, "end": day},
        "diagnosis": [{"condition": {"reference": f"Condition/{condition_id}"}, "rank": 1}],
    }
    condition = {
        "resourceType": "Condition",
        "id": condition_id,
        "meta": {"profile": [US_CORE + "us-core-condition-encounter-diagnosis"]},
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": ICD10_CM,
                    "code": icd10.dotted(visit.diagnosis_code),
                    "display": visit.diagnosis,
                }
            ],
            "text": visit.diagnosis,
        },
        "subject": patient_ref,
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "recordedDate": day,
    }
    resources = [encounter, condition]
    note_id = _derived_id(visit.record_id, "note") if visit.notes else None
    # The amendment's statements (request, denial, disagreement, rebuttal), then the addenda: each
    # appends to the visit note.
    appended = [
        (added, f"{added.kind}, visit note {day}", added.kind) for added in visit.statements
    ]
    appended += [
        (added, f"Addendum {number} to the visit note {day}", "")
        for number, added in enumerate(visit.addenda, start=1)
    ]
    for added, title, kind in appended:
        resources.append(
            fhir_chart.addendum(
                patient_ref,
                addendum_id=added.addendum_id,
                text=added.text,
                author=added.author,
                created_at=added.created_at,
                encounter_id=encounter_id,
                note_id=note_id,
                title=title,
                kind=kind,
            )
        )
    if visit.notes:
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": _derived_id(visit.record_id, "note"),
                "meta": {"profile": [US_CORE + "us-core-documentreference"]},
                "status": "current",
                "type": {
                    "coding": [
                        {
                            "system": "http://loinc.org",
                            "code": "11506-3",
                            "display": "Progress note",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/us/core/CodeSystem/"
                                "us-core-documentreference-category",
                                "code": "clinical-note",
                                "display": "Clinical Note",
                            }
                        ]
                    }
                ],
                "subject": patient_ref,
                "date": visit.created_at.isoformat(),
                "author": [{"display": visit.provider}],
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain; charset=utf-8",
                            "data": base64.b64encode(visit.notes.encode()).decode("ascii"),
                            "title": f"Visit note {day}",
                        }
                    }
                ],
                "context": {
                    "encounter": [{"reference": f"Encounter/{encounter_id}"}],
                    "period": {"start": day, "end": day},
                },
            }
        )
    return resources


def _annotated(resource: dict[str, Any], attached: list[Addendum]) -> dict[str, Any]:
    """An amendment or a denial's statements on a chart resource: FHIR `note` annotations
    (author, time, text), after the resource's own note."""
    if attached:
        resource["note"] = [*resource.get("note", []), *fhir_chart.amendment_notes(attached)]
    return resource


def _chart_resources(data: RecordSet) -> list[dict[str, Any]]:
    patient_ref = {"reference": f"Patient/{data.patient_id}"}
    resources = [
        _annotated(
            fhir_chart.problem(patient_ref, p, data.staff_name(p.recorded_by_id)),
            data.amendments_of("problem", p.problem_id),
        )
        for p in data.problems
    ]
    resources += [
        _annotated(
            fhir_chart.allergy(patient_ref, a, data.staff_name(a.recorded_by_id)),
            data.amendments_of("allergy", a.allergy_id),
        )
        for a in data.allergies
    ]
    if data.no_known_allergies is not None and not data.allergies:
        review = data.no_known_allergies
        resources.append(
            fhir_chart.no_known_allergies(
                patient_ref, data.patient_id, review, data.staff_name(review.recorded_by_id)
            )
        )
    resources += [
        _annotated(
            fhir_chart.medication(patient_ref, m), data.amendments_of("medication", m.medication_id)
        )
        for m in data.medications
    ]
    for vitals in data.vital_signs:
        attached = data.amendments_of("vital_signs", vitals.vitals_id)
        resources += [
            _annotated(observation, attached)
            for observation in fhir_chart.vital_signs(patient_ref, vitals)
        ]
    return resources


def _demographic_resources(data: RecordSet) -> list[dict[str, Any]]:
    """Each amendment of a demographic field, and each statement after a denied one, as a
    DocumentReference about the Patient (Patient has no `note`)."""
    patient_ref = {"reference": f"Patient/{data.patient_id}"}
    return [
        fhir_chart.demographic_statement(patient_ref, added, label)
        for field_name, label in DEMOGRAPHIC_FIELDS
        for added in data.amendments_of(DEMOGRAPHIC, field_name)
    ]


def fhir_bundle(data: RecordSet) -> Bundle:
    """The record set as a FHIR Bundle (type collection), validated by fhir.resources (R4B
    models: R4B is the backward-compatible 4.3 release of R4; the resources used here have the
    same shape in 4.0.1). A value the models refuse raises pydantic's ValidationError."""
    resources = [_patient_resource(data)]
    for visit in data.visits:
        resources += _visit_resources(data, visit)
    resources += _chart_resources(data)
    resources += _demographic_resources(data)
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "collection",
            "timestamp": data.produced_at.isoformat(),
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{resource['id']}",
                    "resource": resource,
                }
                for resource in resources
            ],
        }
    )


def fhir_json(data: RecordSet) -> bytes:
    document = json.loads(fhir_bundle(data).model_dump_json(exclude_none=True))
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
