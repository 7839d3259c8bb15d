"""Run SQL through the real web connection under a group role, as a request would."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from django.db import connections, transaction

from clinic.db_context import apply_context
from patients.models import PatientIdentity
from records.models import CareTeamMember, ClinicalRecord


@contextmanager
def as_role(role: str | None, user_id: int | None = None):
    """A cursor on the web connection inside a transaction switched to `role` (rolled back)."""
    with transaction.atomic(using="default"):
        apply_context(role, user_id)
        with connections["default"].cursor() as cursor:
            yield cursor
        transaction.set_rollback(True, using="default")


def run_as(role: str | None, query: str, params: list | None = None, user_id: int | None = None):
    """Rows of `query` under `role`; raises the database's error when it refuses."""
    with as_role(role, user_id) as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount


def make_patient(last_name: str = "Testperson", **fields) -> PatientIdentity:
    values = {
        "first_name": "Pat",
        "last_name": last_name,
        "date_of_birth": dt.date(1980, 1, 2),
        "ssn": "",
        "state": "MA",
        **fields,
    }
    patient = PatientIdentity(**values)
    patient.save(using="owner")
    return patient


def put_on_care_team(staff, patient) -> CareTeamMember:
    member = CareTeamMember(staff=staff, patient=patient, reason="test")
    member.save(using="owner")
    return member


def make_record(patient, provider, code: str = "E11.9", notes: str = "fake note") -> ClinicalRecord:
    record = ClinicalRecord(
        patient=patient,
        provider=provider,
        diagnosis_code=code,
        notes=notes,
        visit_date=dt.date(2025, 3, 4),
    )
    record.save(using="owner")
    return record
