"""Helpers for the clinical-records tests: obviously fake patients, visits and care teams,
written through the owner connection (the test's web connection has no role)."""

from __future__ import annotations

import datetime

from django.db import connections
from django.utils import timezone

from clinic.models import AccessEvent
from patients.models import PatientIdentity
from records.models import BreakGlassGrant, CareTeamMember, ClinicalRecord

OWNER = "owner"
FAKE_NOTE = "Fake note: sentinel-note-7f3a, patient reports feeling fine."


def make_patient(first: str = "Alex", last: str = "Testperson", **extra) -> PatientIdentity:
    patient = PatientIdentity(
        first_name=first,
        last_name=last,
        date_of_birth=extra.pop("date_of_birth", datetime.date(1980, 5, 17)),
        ssn=extra.pop("ssn", "900-00-0001"),
        phone=extra.pop("phone", "555-0100"),
        email=extra.pop("email", "alex@example.test"),
        **extra,
    )
    patient.save(using=OWNER)
    return patient


def put_on_care_team(staff, patient, **extra) -> CareTeamMember:
    return CareTeamMember.objects.using(OWNER).create(
        staff=staff, patient=patient, reason=extra.pop("reason", "primary care"), **extra
    )


def make_visit(patient, provider, **extra) -> ClinicalRecord:
    record = ClinicalRecord(
        patient=patient,
        provider=provider,
        diagnosis_code=extra.pop("diagnosis_code", "J06.9"),
        notes=extra.pop("notes", FAKE_NOTE),
        visit_date=extra.pop("visit_date", datetime.date(2024, 3, 4)),
        **extra,
    )
    record.save(using=OWNER)
    return record


def grant_break_glass(staff, patient) -> BreakGlassGrant:
    now = timezone.now()
    return BreakGlassGrant.objects.using(OWNER).create(
        staff=staff,
        patient=patient,
        reason_category="emergency",
        starts_at=now - datetime.timedelta(minutes=1),
        expires_at=now + datetime.timedelta(hours=1),
    )


def events(action: str | None = None, **filters) -> list[AccessEvent]:
    queryset = AccessEvent.objects.using(OWNER).order_by("id")
    if action:
        queryset = queryset.filter(action=action)
    return list(queryset.filter(**filters))


def raw_record_row(record_id) -> tuple:
    """The stored row as the database has it (notes as ciphertext)."""
    with connections[OWNER].cursor() as cursor:
        cursor.execute(
            "SELECT visit_date, diagnosis_code, notes, version FROM clinical_records "
            "WHERE record_id = %s",
            [str(record_id)],
        )
        return cursor.fetchone()


def record_count() -> int:
    return ClinicalRecord.objects.using(OWNER).count()
