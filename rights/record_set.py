"""The designated record set of one patient (164.501, 164.524), read from the database into
memory: the data both formats are built from, the FHIR R4 Bundle (rights/export_fhir.py) and the
PDF (rights/export_pdf.py). Nothing is written to disk; the caller sends the bytes and stores
their SHA-256 (rights/services.py).

What the privacy officer's role may read decides what is in the set, and the database decides
that: the patient's visits and notes, and the demographics, are readable only while an open
access request for the patient exists (rights/db_grants.py). The FHIR mapping is docs/rights.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from chart.models import Allergy, AllergyReview, Medication, Problem, VitalSigns
from clinic.encryption import EncryptedFieldMixin
from patients.models import PatientIdentity
from privacy.access import IDENTITY_COLUMNS
from records import icd10
from records.models import ClinicalRecord, VisitAddendum
from rights.amendment_models import AmendmentEntry
from rights.db_record_set import function_name
from rights.models import AccessRequest, AmendmentRequest

M = TypeVar("M", bound=models.Model)


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
    # The codes of patients.models.ADMINISTRATIVE_SEXES and GENDER_IDENTITIES ("": not given).
    administrative_sex: str = ""
    gender_identity: str = ""
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


DEMOGRAPHIC_COLUMNS = (
    "date_of_birth", "address", "phone", "email", "state", "administrative_sex", "gender_identity",
)  # fmt: skip


def _demographics(access_request: AccessRequest) -> dict[str, Any]:
    """The demographics the database gives for an open request (ciphertext), decrypted."""
    columns = DEMOGRAPHIC_COLUMNS
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM access_request_demographics(%s)",  # noqa: S608
            [str(access_request.pk)],
        )
        row = cursor.fetchone()
    if row is None:
        return {"date_of_birth": None, **dict.fromkeys(columns[1:], "")}
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
        administrative_sex=demographics["administrative_sex"] or "",
        gender_identity=demographics["gender_identity"] or "",
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
