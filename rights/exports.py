"""The designated record set of one patient (164.501, 164.524), built from the database in
memory, in two formats from the same data: a FHIR R4 JSON Bundle validated by `fhir.resources`
and a PDF for a person (ReportLab, built-in fonts). Nothing is written to disk; the caller sends
the bytes and stores their SHA-256 (rights/services.py).

What the privacy officer's role may read decides what is in the set, and the database decides
that: the patient's visits and notes, and the demographics, are readable only while an open
access request for the patient exists (rights/db_grants.py). The FHIR mapping is docs/rights.md.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from chart.models import Allergy, AllergyReview, Medication, Problem, VitalSigns
from clinic.encryption import EncryptedFieldMixin
from patients.models import PatientIdentity
from privacy.access import IDENTITY_COLUMNS
from records import icd10
from records.models import ClinicalRecord, VisitAddendum
from rights import fhir_chart
from rights.amendment_models import DEMOGRAPHIC, DEMOGRAPHIC_FIELDS, AmendmentEntry
from rights.db_record_set import function_name
from rights.models import AccessRequest, AmendmentRequest

M = TypeVar("M", bound=models.Model)

# Stable ids for resources derived from one visit (the Condition and the DocumentReference).
RESOURCE_NAMESPACE = fhir_chart.RESOURCE_NAMESPACE
MRN_SYSTEM = "urn:clinic:mrn"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


@dataclass
class Visit:
    record_id: uuid.UUID
    visit_date: date
    diagnosis_code: str
    diagnosis: str
    notes: str
    provider: str
    created_at: datetime
    addenda: list[Addendum] = field(default_factory=list)
    # After a denied amendment (164.526(d)(4)): the denial, the disagreement, the rebuttal.
    statements: list[Addendum] = field(default_factory=list)


@dataclass
class Addendum:
    addendum_id: uuid.UUID
    text: str
    author: str
    created_at: datetime
    kind: str = ""


@dataclass
class RecordSet:
    patient_id: uuid.UUID
    first_name: str
    last_name: str
    mrn: str
    date_of_birth: date | None
    address: str
    phone: str
    email: str
    state: str
    produced_on: date
    produced_at: datetime
    visits: list[Visit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    no_known_allergies: AllergyReview | None = None
    medications: list[Medication] = field(default_factory=list)
    vital_signs: list[VitalSigns] = field(default_factory=list)
    # Who recorded each chart item (staff id -> display name).
    staff_names: dict[int, str] = field(default_factory=dict)
    # What is attached to a chart entry or a demographic field after an amendment request
    # (164.526): "kind:id" (a field name for a demographic field) -> amendments and statements.
    amendments: dict[str, list[Addendum]] = field(default_factory=dict)

    def staff_name(self, staff_id: int) -> str:
        return self.staff_names.get(staff_id, f"staff {staff_id}")

    def amendments_of(self, kind: str, item_id: object) -> list[Addendum]:
        return self.amendments.get(f"{kind}:{item_id}", [])

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _demographics(access_request: AccessRequest) -> dict[str, Any]:
    """The demographics the database gives for an open request (ciphertext), decrypted."""
    columns = ("date_of_birth", "address", "phone", "email", "state")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_of_birth, address, phone, email, state "
            "FROM access_request_demographics(%s)",
            [str(access_request.pk)],
        )
        row = cursor.fetchone()
    if row is None:
        return {"date_of_birth": None, "address": "", "phone": "", "email": "", "state": ""}
    values: dict[str, Any] = {}
    for column, stored in zip(columns, row, strict=True):
        model_field = PatientIdentity._meta.get_field(column)
        if isinstance(model_field, EncryptedFieldMixin):
            values[column] = model_field.from_db_value(stored, None, connection)
        else:
            values[column] = stored
    return values


def _rows(model: type[M], what: str, access_request: AccessRequest) -> list[M]:
    """The rows of `model`'s table for the request's patient, through the database's function
    for an open request (rights/db_record_set.py); decrypted as the model's own fields."""
    query = f"SELECT * FROM {function_name(what)}(%s)"  # noqa: S608 (a fixed name)
    return list(model.objects.raw(query, [str(access_request.pk)]))  # type: ignore[attr-defined]


def staff_names(staff_ids: set[int]) -> dict[int, str]:
    """Display names of staff members (the record set's and the visit summary's)."""
    return {
        user.pk: user.get_full_name() or user.username
        for user in get_user_model().objects.filter(pk__in=staff_ids)
    }


def record_set(access_request: AccessRequest) -> RecordSet:
    patient = PatientIdentity.objects.only(*IDENTITY_COLUMNS).get(pk=access_request.patient_id)
    visits = list(ClinicalRecord.objects.filter(patient_id=patient.pk).order_by("visit_date"))
    addenda = sorted(
        _rows(VisitAddendum, "addenda", access_request),
        key=lambda a: (a.created_at, str(a.addendum_id)),
    )
    problems = sorted(
        _rows(Problem, "problems", access_request),
        key=lambda p: (p.status != Problem.ACTIVE, p.created_at),
    )
    allergies = sorted(_rows(Allergy, "allergies", access_request), key=lambda a: a.created_at)
    reviews = _rows(AllergyReview, "allergy_review", access_request)
    medications = sorted(
        _rows(Medication, "medications", access_request), key=lambda m: m.created_at
    )
    vitals = sorted(_rows(VitalSigns, "vital_signs", access_request), key=lambda v: v.taken_at)
    entries = _rows(AmendmentEntry, "amendment_entries", access_request)
    decided = AmendmentRequest.objects.filter(patient_id=patient.pk).exclude(decided_by=None)
    names = staff_names(
        {v.provider_id for v in visits}
        | {a.author_id for a in addenda}
        | {p.recorded_by_id for p in problems}
        | {a.recorded_by_id for a in allergies}
        | {r.recorded_by_id for r in reviews}
        | {e.author_id for e in entries}
        | set(decided.values_list("decided_by_id", flat=True))
    )
    by_visit: dict[uuid.UUID, list[Addendum]] = {}
    for a in addenda:
        by_visit.setdefault(a.record_id, []).append(
            Addendum(
                a.addendum_id, a.text, names.get(a.author_id, f"staff {a.author_id}"), a.created_at
            )
        )
    from rights.export_statements import statements_by_item, statements_by_visit

    statements = statements_by_visit(patient.pk, names)
    now = timezone.localtime()
    demographics = _demographics(access_request)
    return RecordSet(
        patient_id=patient.pk,
        first_name=patient.first_name,
        last_name=patient.last_name,
        mrn=patient.mrn,
        date_of_birth=demographics["date_of_birth"],
        address=demographics["address"] or "",
        phone=demographics["phone"] or "",
        email=demographics["email"] or "",
        state=demographics["state"] or "",
        produced_on=now.date(),
        produced_at=now,
        visits=[
            Visit(
                record_id=v.record_id,
                visit_date=v.visit_date,
                diagnosis_code=v.diagnosis_code,
                diagnosis=icd10.description(v.diagnosis_code),
                notes=v.notes or "",
                provider=names.get(v.provider_id, f"staff {v.provider_id}"),
                created_at=v.created_at,
                addenda=by_visit.get(v.record_id, []),
                statements=statements.get(v.record_id, []),
            )
            for v in visits
        ],
        problems=problems,
        allergies=allergies,
        no_known_allergies=next((r for r in reviews if r.no_known_allergies), None),
        medications=medications,
        vital_signs=vitals,
        staff_names=names,
        amendments=statements_by_item(patient.pk, entries, names),
    )


# --- FHIR -------------------------------------------------------------------------------------


def _derived_id(record_id: uuid.UUID, kind: str) -> str:
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{record_id}/{kind}"))


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
