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
