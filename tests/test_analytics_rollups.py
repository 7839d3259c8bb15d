"""Rollups after `refresh_analytics` match the base table; the refresh is logged and shown."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone

from tests.factories import ClinicalRecordFactory, PatientFactory


def _owner_rows(query: str) -> list[tuple]:
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        cursor.execute("SET LOCAL ROLE clinic_analytics_owner")
        cursor.execute(query)
        return sorted(cursor.fetchall())


def test_refresh_makes_rollups_equal_to_the_base_table(staff):
    today = timezone.localdate().replace(day=1)
    last_year = today.replace(year=today.year - 1)
    first = PatientFactory(sentinel=True, birth_year=1970, state="CA")
    second = PatientFactory(sentinel=True, birth_year=2001, state="TX")
    visits = ClinicalRecordFactory.create_batch
    visits(4, patient=first, provider=staff["clinician"], diagnosis_code="E119", visit_date=today)
    visits(
        3, patient=first, provider=staff["clinician2"], diagnosis_code="J069", visit_date=last_year
    )
    visits(12, patient=second, provider=staff["clinician"], diagnosis_code="I10", visit_date=today)
    out = StringIO()
    call_command("refresh_analytics", stdout=out)
    assert "[1/6]" in out.getvalue() and "refreshed in" in out.getvalue()

    base = _owner_rows(
        "SELECT date_trunc('month', visit_date)::date, provider_id, count(*) "
        "FROM clinical_records_analyst GROUP BY 1, 2"
    )
    rolled = _owner_rows(
        "SELECT month, provider_id, sum(visits) FROM analytics_visits_rollup GROUP BY 1, 2"
    )
    assert rolled == base
    assert _owner_rows(
        "SELECT diagnosis_code, chapter, sum(visits) FROM analytics_codes_rollup GROUP BY 1, 2"
    ) == [("E119", "4", 4), ("I10", "9", 12), ("J069", "10", 3)]
    assert _owner_rows("SELECT sum(visits) FROM analytics_provider_codes_rollup") == [(19,)]
    assert _owner_rows("SELECT state, sum(patients) FROM analytics_patients_rollup GROUP BY 1") == [
        ("CA", 1),
        ("TX", 1),
    ]

    # New visits show up after the next refresh, and each run is logged.
    visits(1, patient=second, provider=staff["clinician"], diagnosis_code="I10", visit_date=today)
    call_command("refresh_analytics", stdout=StringIO())
    assert _owner_rows("SELECT sum(visits) FROM analytics_visits_rollup") == [(20,)]
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_refresh_log")
        assert cursor.fetchone()[0] == 2


def test_rollups_have_unique_indexes_for_concurrent_refresh(clinic_db):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_indexes WHERE indexdef LIKE 'CREATE UNIQUE INDEX%%' "
            "AND tablename LIKE 'analytics_%%rollup'"
        )
        assert {row[0] for row in cursor.fetchall()} == {
            "analytics_visits_rollup",
            "analytics_codes_rollup",
            "analytics_provider_codes_rollup",
            "analytics_patients_rollup",
            "analytics_appointments_rollup",
            "analytics_availability_rollup",
        }
