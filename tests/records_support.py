"""Helpers for the clinical-records tests: access-log events and stored rows, read through the
owner connection (the test's web connection has no role). Their data comes from tests.factories."""

from __future__ import annotations

from django.db import connections

from clinic.models import AccessEvent
from records.models import ClinicalRecord

OWNER = "owner"


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
