"""Helpers of the analytics tests: obviously fake patients and visits, written as the owner."""

from __future__ import annotations

import datetime

from analytics.refresh import refresh_all
from patients.models import PatientIdentity
from records.models import ClinicalRecord

SENTINELS = {
    "first_name": "Sentinelfirst",
    "last_name": "Testperson",
    "ssn": "900-00-0001",
    "address": "1 Sentinelstreet, Springfield",
    "phone": "555-0100",
    "email": "sentinel@example.test",
}
NOTE_SENTINEL = "Sentinelnote free text"


def make_patient(birth_year: int = 1980, state: str = "CA", **overrides) -> PatientIdentity:
    patient = PatientIdentity(
        date_of_birth=datetime.date(birth_year, 6, 15), state=state, **{**SENTINELS, **overrides}
    )
    patient.save(using="owner")
    return patient


def make_visits(patient, provider, count: int, code: str = "E119", visit_date=None) -> None:
    when = visit_date or datetime.date.today().replace(day=1)
    ClinicalRecord.objects.using("owner").bulk_create(
        ClinicalRecord(
            patient=patient,
            provider=provider,
            diagnosis_code=code,
            notes=NOTE_SENTINEL,
            visit_date=when,
        )
        for _ in range(count)
    )


def refresh() -> None:
    refresh_all(using="owner")
