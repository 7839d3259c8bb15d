"""Analyst dashboards: SVG charts with data tables, suppression on the page, who may see them."""

from __future__ import annotations

import re

import pytest
from django.db import connections, transaction
from django.utils import timezone

from clinic.db_context import apply_context
from tests.analytics_helpers import refresh
from tests.factories import ClinicalRecordFactory, PatientFactory, this_month

DASHBOARD = "/analytics/"
EXPORT = "/analytics/export/"


def panel(html: str, panel_id: str) -> str:
    match = re.search(rf'<section class="card" id="panel-{panel_id}".*?</section>', html, re.S)
    assert match, panel_id
    return match.group(0)


def cells(panel_html: str) -> dict[str, str]:
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="count">(.*?)</td>', panel_html)
    return dict(rows)


@pytest.fixture
def visits(staff):
    patient = PatientFactory(sentinel=True, birth_year=1980, state="CA")
    visit = {"patient": patient, "sentinel": True, "visit_date": this_month()}
    ClinicalRecordFactory.create_batch(
        5, provider=staff["clinician"], diagnosis_code="E119", **visit
    )
    ClinicalRecordFactory.create_batch(
        20, provider=staff["clinician2"], diagnosis_code="J069", **visit
    )
    refresh()
    return patient


def test_analyst_sees_svg_charts_each_with_a_data_table(client_for, staff, visits):
    response = client_for(staff["analyst"]).get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart"') >= 5
    assert html.count("<table>") >= 5
    assert "Data as of" in html and "never" not in html
    assert ' style="' not in html and "<script>" not in html


def test_small_provider_count_is_hidden_with_its_complement_on_the_page(client_for, staff, visits):
    html = client_for(staff["analyst"]).get(DASHBOARD).content.decode()
    providers = cells(panel(html, "providers"))
    # 5 is hidden; with a known total of 25 the 20 would reveal it, so it is hidden too.
    assert providers.pop("Total") == "25"
    assert sorted(providers.values()) == sorted(["*", "&lt;11"])
    chapters = cells(panel(html, "chapters"))
    assert chapters.pop("Total") == "25"
    assert "&lt;11" in chapters.values()
    assert "5" not in chapters.values() and "20" not in chapters.values()


def test_filters_narrow_the_counts(client_for, staff, visits):
    client = client_for(staff["analyst"])
    html = client.get(DASHBOARD, {"chapter": "10"}).content.decode()
    assert re.search(r'id="visit-total">20<', html)
    html = client.get(DASHBOARD, {"provider": staff["clinician2"].pk}).content.decode()
    assert re.search(r'id="visit-total">20<', html)


def test_bad_filter_shows_a_message_and_the_default_range(client_for, staff, visits):
    response = client_for(staff["analyst"]).get(DASHBOARD, {"start": "2026-05", "end": "2025-01"})
    assert response.status_code == 200
    assert b"must not be after" in response.content


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "privacy", "admin", "outsider"])
def test_other_roles_get_403_on_dashboards_and_export(client_for, staff, persona):
    client = client_for(staff[persona])
    assert client.get(DASHBOARD).status_code == 403
    assert client.post(EXPORT, {}).status_code == 403


def test_anonymous_visitor_is_sent_to_sign_in(client, clinic_db):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]


def _bands_in_test_state() -> dict[str, int]:
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        cursor.execute("SET LOCAL ROLE clinic_analytics_owner")
        cursor.execute(
            "SELECT age_band, patients FROM analytics_patients_rollup WHERE state = 'ZZ'"
        )
        return dict(cursor.fetchall())


def test_age_bands_collapse_ninety_and_over(staff):

    year = timezone.localdate().year
    for age in (89, 90, 91, 104):
        PatientFactory(sentinel=True, birth_year=year - age, state="ZZ")
    refresh()
    bands = _bands_in_test_state()
    assert bands == {"75-89": 1, "90+": 3}


def test_analyst_reads_suppressed_tables_but_never_a_patient_row(staff, visits):
    with transaction.atomic(), connections["default"].cursor() as cursor:
        apply_context("clinic_analyst", staff["analyst"].pk)
        cursor.execute(
            "SELECT panel, key, shown, status FROM analytics_patient_panels() WHERE place = 0"
        )
        # One registered patient: each table's total is a small count, hidden by the database.
        assert sorted(cursor.fetchall()) == [
            ("ages", None, None, "primary"),
            ("states", None, None, "primary"),
        ]
