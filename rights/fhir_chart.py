"""FHIR R4 resources for the chart and the addenda of a designated record set (the mapping is
docs/chart.md's, summarised in docs/rights.md): problems as Condition (problem-list-item),
allergies and "no known allergies" as AllergyIntolerance, medications as MedicationStatement,
each vital sign as an Observation (vital-signs category; blood pressure as one panel with two
components), and each addendum as a DocumentReference that `appends` its note's.

Plain dictionaries; rights/export_fhir.py puts them in the Bundle, which fhir.resources validates.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chart.models import (
    BMI,
    BP_PANEL_LOINC,
    MEASURES,
    Allergy,
    AllergyReview,
    Medication,
    Problem,
    VitalSigns,
)
from records import icd10

RESOURCE_NAMESPACE = uuid.UUID("5a0b7c1e-6f2d-4c3b-9a8e-1d2c3b4a5f60")
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# SNOMED CT route codes (docs/chart.md); "other" has none.
ROUTE_CODES = {
    "oral": "26643006",
    "sublingual": "37839007",
    "topical": "6064005",
    "inhaled": "447694001",
    "nasal": "46713006",
    "ophthalmic": "54485002",
    "subcutaneous": "34206005",
    "intramuscular": "78421000",
    "intravenous": "47625008",
    "rectal": "37161004",
    "transdermal": "45890007",
}
# US Core's per-measure vital-sign profiles (BMI is computed; the panel carries the BP pair).
PROFILES = {
    "8867-4": "us-core-heart-rate",
    "8310-5": "us-core-body-temperature",
    "9279-1": "us-core-respiratory-rate",
    "59408-5": "us-core-pulse-oximetry",
    "29463-7": "us-core-body-weight",
    "8302-2": "us-core-body-height",
    "39156-5": "us-core-bmi",
    BP_PANEL_LOINC: "us-core-blood-pressure",
}


def derived_id(source_id: uuid.UUID, kind: str) -> str:
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{source_id}/{kind}"))


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _day(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _drop_none(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if value is not None}


def problem(patient_ref: dict[str, str], item: Problem, recorder: str) -> dict[str, Any]:
    description = icd10.description(item.icd10_code)
    return _drop_none(
        {
            "resourceType": "Condition",
            "id": str(item.problem_id),
            "meta": {"profile": [US_CORE + "us-core-condition-problems-health-concerns"]},
            "clinicalStatus": _coded(TERMINOLOGY + "condition-clinical", item.status),
            "verificationStatus": _coded(TERMINOLOGY + "condition-ver-status", "confirmed"),
            "category": [
                _coded(TERMINOLOGY + "condition-category", "problem-list-item", "Problem List Item")
            ],
            "code": {
                "coding": [
                    {
                        "system": ICD10_CM,
                        "code": icd10.dotted(item.icd10_code),
                        "display": description,
                    }
                ],
                "text": description,
            },
            "subject": patient_ref,
            "onsetDateTime": _day(item.onset_date),
            "abatementDateTime": _day(item.resolved_on),
            "recordedDate": _day(item.created_at),
            "recorder": {"display": recorder},
            "note": [{"text": item.note}] if item.note else None,
        }
    )


def allergy(patient_ref: dict[str, str], item: Allergy, recorder: str) -> dict[str, Any]:
    in_error = item.status == Allergy.ENTERED_IN_ERROR
    reaction = None
    if item.reaction or item.severity:
        reaction = [
            _drop_none(
                {
                    "manifestation": [{"text": item.reaction or "Reaction not described"}],
                    "severity": item.severity or None,
                }
            )
        ]
    return _drop_none(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(item.allergy_id),
            "meta": {"profile": [US_CORE + "us-core-allergyintolerance"]},
            # No clinical status on an entry made in error (FHIR invariant ait-2).
            "clinicalStatus": None
            if in_error
            else _coded(TERMINOLOGY + "allergyintolerance-clinical", item.status),
            "verificationStatus": _coded(
                TERMINOLOGY + "allergyintolerance-verification",
                "entered-in-error" if in_error else "confirmed",
            ),
            "code": {"text": item.substance},
            "patient": patient_ref,
            "recordedDate": item.created_at.isoformat(),
            "recorder": {"display": recorder},
            "reaction": reaction,
        }
    )


def no_known_allergies(
    patient_ref: dict[str, str], patient_id: uuid.UUID, review: AllergyReview, recorder: str
) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": derived_id(patient_id, "no-known-allergies"),
        "meta": {"profile": [US_CORE + "us-core-allergyintolerance"]},
        "clinicalStatus": _coded(TERMINOLOGY + "allergyintolerance-clinical", "active"),
        "verificationStatus": _coded(TERMINOLOGY + "allergyintolerance-verification", "confirmed"),
        "code": _coded(SNOMED, "716186003", "No known allergy"),
        "patient": patient_ref,
        "recordedDate": review.updated_at.isoformat(),
        "recorder": {"display": recorder},
    }


def medication(patient_ref: dict[str, str], item: Medication) -> dict[str, Any]:
    route: dict[str, Any] = {"text": item.get_route_display()}
    if item.route in ROUTE_CODES:
        route["coding"] = [
            {"system": SNOMED, "code": ROUTE_CODES[item.route], "display": item.get_route_display()}
        ]
    dosage_text = " ".join(part for part in (item.dose, item.frequency) if part)
    period = _drop_none({"start": _day(item.start_date), "end": _day(item.stop_date)})
    return _drop_none(
        {
            "resourceType": "MedicationStatement",
            "id": str(item.medication_id),
            "status": item.status.replace("_", "-"),
            "medicationCodeableConcept": {"text": item.name},
            "subject": patient_ref,
            "effectivePeriod": period or None,
            "dateAsserted": item.created_at.isoformat(),
            "dosage": [_drop_none({"text": dosage_text or None, "route": route})],
        }
    )


def _quantity(value: Decimal | int, unit: str, display_unit: str) -> dict[str, Any]:
    return {"value": Decimal(value), "unit": display_unit, "system": UCUM, "code": unit}


def vital_signs(patient_ref: dict[str, str], item: VitalSigns) -> list[dict[str, Any]]:
    """One Observation per measure taken (blood pressure: one panel of two components)."""
    common = {
        "status": "entered-in-error" if item.entered_in_error else "final",
        "category": [_coded(TERMINOLOGY + "observation-category", "vital-signs", "Vital Signs")],
        "subject": patient_ref,
        "effectiveDateTime": item.taken_at.isoformat(),
    }
    vital_profile = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
    resources: list[dict[str, Any]] = []
    if item.systolic is not None and item.diastolic is not None:
        components = [
            {
                "code": _coded(LOINC, measure.loinc, measure.label),
                "valueQuantity": _quantity(
                    getattr(item, measure.column), measure.unit, measure.display_unit
                ),
            }
            for measure in MEASURES[:2]
        ]
        resources.append(
            {
                "resourceType": "Observation",
                "id": derived_id(item.vitals_id, "blood_pressure"),
                "meta": {"profile": [vital_profile, US_CORE + PROFILES[BP_PANEL_LOINC]]},
                **common,
                "code": _coded(LOINC, BP_PANEL_LOINC, "Blood pressure panel"),
                "component": components,
            }
        )
    measured = [(m, getattr(item, m.column)) for m in MEASURES[2:]]
    if item.bmi is not None:
        measured.append((BMI, item.bmi))
    for measure, value in measured:
        if value is None:
            continue
        resources.append(
            {
                "resourceType": "Observation",
                "id": derived_id(item.vitals_id, measure.column),
                "meta": {"profile": [vital_profile, US_CORE + PROFILES[measure.loinc]]},
                **common,
                "code": _coded(LOINC, measure.loinc, measure.label),
                "valueQuantity": _quantity(value, measure.unit, measure.display_unit),
            }
        )
    return resources


def addendum(
    patient_ref: dict[str, str],
    *,
    addendum_id: uuid.UUID,
    text: str,
    author: str,
    created_at: datetime,
    encounter_id: str,
    note_id: str | None,
    title: str,
    kind: str = "",
) -> dict[str, Any]:
    """An addendum (LOINC 55107-7) or, with `kind`, a statement attached to the note after a
    denied amendment (the denial, the statement of disagreement, the rebuttal; 164.526(d)(4))."""
    import base64

    return _drop_none(
        {
            "resourceType": "DocumentReference",
            "id": str(addendum_id),
            "meta": {"profile": [US_CORE + "us-core-documentreference"]},
            "status": "current",
            "type": {"text": kind} if kind else _coded(LOINC, "55107-7", "Addendum Document"),
            "category": [
                _coded(
                    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                    "clinical-note",
                    "Clinical Note",
                )
            ],
            "subject": patient_ref,
            "date": created_at.isoformat(),
            "author": [{"display": author}],
            "relatesTo": [
                {"code": "appends", "target": {"reference": f"DocumentReference/{note_id}"}}
            ]
            if note_id
            else None,
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(text.encode()).decode("ascii"),
                        "title": title,
                    }
                }
            ],
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
        }
    )


def amendment_notes(attached: list[Any]) -> list[dict[str, Any]]:
    """Amendments (164.526(c)) and a denial's statements ((d)(4)) as FHIR Annotations: who, when,
    and the text headed by what it is (rights/export_statements.py)."""
    return [
        {
            "authorString": added.author,
            "time": added.created_at.isoformat(),
            "text": f"{added.kind}: {added.text}",
        }
        for added in attached
    ]


def demographic_statement(patient_ref: dict[str, str], added: Any, label: str) -> dict[str, Any]:
    """An amendment of a demographic field, or a statement after a denied one, as a
    DocumentReference whose subject and related resource are the Patient."""
    import base64

    return {
        "resourceType": "DocumentReference",
        "id": str(added.addendum_id),
        "status": "current",
        "type": {"text": f"{added.kind} — {label}"},
        "subject": patient_ref,
        "date": added.created_at.isoformat(),
        "author": [{"display": added.author}],
        "description": f"Demographic field: {label}",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(added.text.encode()).decode("ascii"),
                    "title": f"{added.kind}, {label}",
                }
            }
        ],
        "context": {"related": [patient_ref]},
    }
