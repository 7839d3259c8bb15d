"""Safe Harbor export: sentinel identifiers planted in patients and notes never reach the CSV."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.db import connections
from django.utils import timezone

from analytics.pseudonyms import pseudonym
from tests.analytics_helpers import refresh
from tests.factories import NOTE_SENTINEL, SENTINELS, ClinicalRecordFactory, PatientFactory

EXPORT = "/analytics/export/"


@pytest.fixture
def exported(client_for, staff):
    year = timezone.localdate().year
    young = PatientFactory(sentinel=True, birth_year=1980, state="CA")
    old = PatientFactory(sentinel=True, birth_year=year - 95, state="NY", last_name="Testpersonold")
    visit = {"provider": staff["clinician"], "diagnosis_code": "E119", "sentinel": True}
    ClinicalRecordFactory.create_batch(
        3, patient=young, visit_date=datetime.date(year, 1, 17), **visit
    )
    ClinicalRecordFactory.create_batch(
        2, patient=old, visit_date=datetime.date(year, 1, 18), **visit
    )
    refresh()
    response = client_for(staff["analyst"]).post(
        EXPORT, {"start": f"{year}-01", "end": f"{year}-01"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return response.content.decode(), young, old


def test_export_has_no_safe_harbor_identifier(exported):
    text, young, old = exported
    lowered = text.lower()
    for value in [*SENTINELS.values(), "Testpersonold", NOTE_SENTINEL, young.mrn, old.mrn]:
        assert value.lower() not in lowered
    assert "9000001" not in text and "5550100" not in text
    for patient in (young, old):
        assert str(patient.patient_id) not in text
        assert patient.patient_id.hex not in text
        assert patient.date_of_birth.isoformat() not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}", text)


def test_export_reduces_dates_to_years_and_collapses_ninety_and_over(exported):
    text, young, old = exported
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    year = str(timezone.localdate().year)
    assert {row["visit_year"] for row in rows} == {year}
    ages = {row["patient_pseudonym"]: row["age_in_visit_year"] for row in rows}
    assert ages[pseudonym(old.patient_id)] == "90+"
    assert ages[pseudonym(young.patient_id)] == str(int(year) - 1980)
    assert set(rows[0]) == {
        "patient_pseudonym",
        "visit_year",
        "age_in_visit_year",
        "state",
        "diagnosis_code",
        "icd10_chapter",
        "provider_id",
    }


def test_pseudonyms_are_keyed_and_stable(exported, settings):
    text, young, _old = exported
    assert pseudonym(young.patient_id) in text
    settings.PSEUDONYM_KEY = "A" * 43 + "="
    assert pseudonym(young.patient_id) not in text


def test_export_is_an_access_log_event(exported, staff):
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT staff_id, object_id, reason FROM access_log WHERE action = 'export'")
        events = cursor.fetchall()
    assert len(events) == 1
    staff_id, object_id, reason = events[0]
    assert staff_id == staff["analyst"].pk
    assert object_id == "safe_harbor_visits"
    assert "5 rows" in reason


@pytest.fixture
def three_years(staff):
    """Visits last year (January by the clinician, March by clinician2), the year before and
    this year: an export of last December alone must widen to all of last year, and only it."""
    year = timezone.localdate().year
    patient = PatientFactory(birth_year=1980, state="CA")
    made = {
        "january": (staff["clinician"], "E119", datetime.date(year - 1, 1, 17)),
        "march": (staff["clinician2"], "J069", datetime.date(year - 1, 3, 5)),
        "year_before": (staff["clinician"], "E119", datetime.date(year - 2, 12, 31)),
        "this_year": (staff["clinician"], "E119", datetime.date(year, 1, 1)),
    }
    for provider, code, day in made.values():
        ClinicalRecordFactory(
            patient=patient, provider=provider, diagnosis_code=code, visit_date=day
        )
    refresh()
    return f"{year - 1}-12"


def export(client, month: str, **filters) -> list[dict[str, str]]:
    response = client.post(EXPORT, {"start": month, "end": month, **filters})
    assert response.status_code == 200, response.content[:500]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_export_widens_months_to_whole_years_and_applies_its_filters(
    client_for, staff, three_years
):
    """One month chosen: every visit of that month's year, no other year; the chapter and the
    provider filters each narrow the rows to theirs."""
    client = client_for(staff["analyst"])
    last_year = three_years[:4]
    rows = export(client, three_years)
    assert sorted((r["visit_year"], r["diagnosis_code"]) for r in rows) == [
        (last_year, "E119"),
        (last_year, "J069"),
    ]
    chapter = next(r["icd10_chapter"] for r in rows if r["diagnosis_code"] == "E119")
    by_chapter = export(client, three_years, chapter=chapter)
    assert [r["diagnosis_code"] for r in by_chapter] == ["E119"]
    by_provider = export(client, three_years, provider=str(staff["clinician2"].pk))
    assert [(r["diagnosis_code"], r["provider_id"]) for r in by_provider] == [
        ("J069", str(staff["clinician2"].pk))
    ]


def test_an_export_over_the_size_cap_is_refused_whole_and_not_logged(
    client_for, staff, three_years, monkeypatch
):
    """Over the cap (lowered to 1 row here; the rows are the real query's): a 400 with the
    message, no partial CSV, and no export event."""
    from analytics import export as export_module
    from analytics import views
    from clinic import access_log
    from tests.privacy_helpers import events

    monkeypatch.setattr(export_module.export_rows, "__defaults__", (1,))
    monkeypatch.setattr(views, "MAX_ROWS", 1)
    client = client_for(staff["analyst"])
    response = client.post(EXPORT, {"start": three_years, "end": three_years})
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("text/csv")
    assert b"More than 1 visits: choose fewer years or a filter." in response.content
    assert events(access_log.EXPORT) == []
    # One row fits: the same request with a filter is served.
    assert len(export(client, three_years, provider=str(staff["clinician2"].pk))) == 1
