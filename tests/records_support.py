"""Helpers for the clinical-records tests: stored rows, read through the owner connection (the
test's web connection has no role). Their data comes from tests.factories, their access-log
events are read with tests.privacy_helpers.events."""

from __future__ import annotations

from django.db import connections

from records.models import ClinicalRecord

OWNER = "owner"


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
