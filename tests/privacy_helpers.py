"""Helpers shared by the accountability tests (patients, records, grants written as the owner)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connections, transaction
from django.utils import timezone

from clinic.db_context import apply_context
from clinic.models import AccessEvent
from patients.models import PatientIdentity
from records.models import BreakGlassGrant, CareTeamMember, ClinicalRecord


def make_patient(**fields) -> PatientIdentity:
    values = {
        "first_name": "Testa",
        "last_name": "Testperson",
        "date_of_birth": date(1980, 1, 2),
        "ssn": "900-00-0001",
        "phone": "555-0100",
        "email": "testa@example.test",
    }
    values.update(fields)
    patient = PatientIdentity(**values)
    patient.save(using="owner")
    return patient


def make_record(patient, provider, notes: str = "Test note.") -> ClinicalRecord:
    record = ClinicalRecord(
        patient=patient,
        provider=provider,
        diagnosis_code="J06.9",
        notes=notes,
        visit_date=date(2026, 1, 5),
    )
    record.save(using="owner")
    return record


def put_on_care_team(staff, patient) -> CareTeamMember:
    member = CareTeamMember(staff=staff, patient=patient, starts_on=date(2020, 1, 1))
    member.save(using="owner")
    return member


def make_grant(staff, patient, *, hours: int = 4, **fields) -> BreakGlassGrant:
    now = timezone.now()
    grant = BreakGlassGrant(
        staff=staff,
        patient=patient,
        reason_category="emergency",
        starts_at=now,
        expires_at=now + timedelta(hours=hours),
        **fields,
    )
    grant.save(using="owner")
    return grant


def records_visible_as(role: str, staff_id: int, patient_id) -> int:
    """Count clinical_records rows for a patient through the web connection under `role`."""
    with transaction.atomic(using="default"):
        apply_context(role, staff_id)
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM clinical_records WHERE patient_id = %s", [str(patient_id)]
            )
            return int(cursor.fetchone()[0])


def events(**filters) -> list[AccessEvent]:
    return list(AccessEvent.objects.using("owner").filter(**filters).order_by("id"))


def actions() -> list[str]:
    return list(AccessEvent.objects.using("owner").order_by("id").values_list("action", flat=True))
