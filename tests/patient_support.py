"""Helpers shared by the patient test modules: counts, raw rows, access-log events.

Everything is read through the owner connection (the test's 'default' connection is clinic_web
with no role). The patients themselves come from tests.factories.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from patients.models import PatientIdentity


def patient_count() -> int:
    return PatientIdentity.objects.using("owner").count()


def access_events(action: str | None = None) -> list[dict[str, Any]]:
    query = (
        "SELECT staff_id, role, action, patient_id, object_id, outcome, reason "
        "FROM access_log {} ORDER BY id"
    )
    with connections["owner"].cursor() as cursor:
        if action:
            cursor.execute(query.format("WHERE action = %s"), [action])
        else:
            cursor.execute(query.format(""))
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def access_log_text() -> str:
    """Every text column of every access-log row, joined (to look for leaked PHI)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT access_log::text FROM access_log")
        return "\n".join(row[0] for row in cursor.fetchall())


def raw_patient_row(patient_id: Any) -> dict[str, Any]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT * FROM patient_identities WHERE patient_id = %s", [patient_id])
        columns = [c[0] for c in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))
