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
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from clinic.encryption import EncryptedFieldMixin
from patients.models import PatientIdentity
from privacy.access import IDENTITY_COLUMNS
from records import icd10
from records.models import ClinicalRecord
from rights.models import AccessRequest

# Stable ids for resources derived from one visit (the Condition and the DocumentReference).
RESOURCE_NAMESPACE = uuid.UUID("5a0b7c1e-6f2d-4c3b-9a8e-1d2c3b4a5f60")
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


def record_set(access_request: AccessRequest) -> RecordSet:
    patient = PatientIdentity.objects.only(*IDENTITY_COLUMNS).get(pk=access_request.patient_id)
    visits = list(ClinicalRecord.objects.filter(patient_id=patient.pk).order_by("visit_date"))
    providers = {
        user.pk: user.get_full_name() or user.username
        for user in get_user_model().objects.filter(pk__in={v.provider_id for v in visits})
    }
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
                provider=providers.get(v.provider_id, f"staff {v.provider_id}"),
                created_at=v.created_at,
            )
            for v in visits
        ],
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


def fhir_bundle(data: RecordSet) -> Bundle:
    """The record set as a FHIR Bundle (type collection), validated by fhir.resources (R4B
    models: R4B is the backward-compatible 4.3 release of R4; the resources used here have the
    same shape in 4.0.1). A value the models refuse raises pydantic's ValidationError."""
    resources = [_patient_resource(data)]
    for visit in data.visits:
        resources += _visit_resources(data, visit)
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


# --- PDF --------------------------------------------------------------------------------------


def _paragraph(text: str, style: Any) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def pdf_bytes(data: RecordSet) -> bytes:
    """A paginated PDF (Letter, Helvetica): the patient's name, MRN and the production date on
    every page, then demographics and each visit with its diagnosis and note."""
    buffer = BytesIO()
    styles = getSampleStyleSheet()
    header = f"{data.name} · MRN {data.mrn}"
    footer = f"Produced {data.produced_on.isoformat()} at the patient's request (45 CFR 164.524)"

    def on_page(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(inch * 0.75, LETTER[1] - inch * 0.5, header)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(inch * 0.75, inch * 0.5, footer)
        canvas.drawRightString(LETTER[0] - inch * 0.75, inch * 0.5, f"Page {document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title="Medical record",
        author="Clinic",
        topMargin=inch * 0.9,
        bottomMargin=inch * 0.9,
        leftMargin=inch * 0.75,
        rightMargin=inch * 0.75,
        invariant=False,
    )
    story: list[Any] = [
        _paragraph(f"Medical record of {data.name}", styles["Title"]),
        _paragraph("Demographics", styles["Heading2"]),
    ]
    rows = [
        ["Name", data.name],
        ["Medical record number", data.mrn],
        ["Date of birth", data.date_of_birth.isoformat() if data.date_of_birth else "—"],
        ["Address", data.address or "—"],
        ["State", data.state or "—"],
        ["Phone", data.phone or "—"],
        ["Email", data.email or "—"],
    ]
    table = Table(
        [[label, _paragraph(value, styles["BodyText"])] for label, value in rows],
        colWidths=[inch * 1.9, inch * 5.0],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 12), _paragraph("Visits", styles["Heading2"])]
    if not data.visits:
        story.append(_paragraph("No visits are recorded.", styles["BodyText"]))
    for visit in data.visits:
        story += [
            _paragraph(f"Visit on {visit.visit_date.isoformat()}", styles["Heading3"]),
            _paragraph(f"Clinician: {visit.provider}", styles["BodyText"]),
            _paragraph(
                f"Diagnosis: {icd10.dotted(visit.diagnosis_code)} {visit.diagnosis}",
                styles["BodyText"],
            ),
            _paragraph("Note:", styles["BodyText"]),
            _paragraph(visit.notes or "(no note)", styles["BodyText"]),
            Spacer(1, 8),
        ]
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
