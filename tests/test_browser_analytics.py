"""The analyst's dashboard renders its SVG charts in real Chromium, with no CSP violation."""

from __future__ import annotations

import pytest

from tests.analytics_helpers import refresh
from tests.conftest import PASSWORD
from tests.factories import ClinicalRecordFactory, PatientFactory, this_month

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_dashboard_renders_svg_charts_in_chromium(page, live_url, staff):
    patient = PatientFactory(sentinel=True, birth_year=1980, state="CA")
    ClinicalRecordFactory.create_batch(
        30,
        patient=patient,
        provider=staff["clinician"],
        diagnosis_code="E119",
        visit_date=this_month(),
        sentinel=True,
    )
    refresh()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto(f"{live_url}/account/sign-in/")
    page.fill("#id_username", "t-analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    page.click("text=Dashboards")
    page.wait_for_url(f"{live_url}/analytics/")
    charts = page.locator("svg.bar-chart")
    assert charts.count() >= 5
    assert charts.first.is_visible()
    assert charts.first.bounding_box()["width"] > 100
    assert page.locator("svg.bar-chart rect.chart-bar").count() >= 3
    assert not [p for p in problems if "Content Security Policy" in p]
