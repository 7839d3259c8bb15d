"""The Django admin in Chromium under the strict Content-Security-Policy: nothing it needs is
blocked, and axe-core finds nothing on its pages (the project's own admin templates and
settings: labelled date and time boxes, plain labelled role and permission lists)."""

from __future__ import annotations

import pytest
from django.contrib import admin

from clinic.admin_csp import ADMIN_STYLE_SOURCES
from scheduling.models import AppointmentType
from tests.browser_helpers import axe_violations, collect_csp_errors, sign_in_with_code
from tests.factories import AppointmentTypeFactory, ScheduleExceptionFactory

pytestmark = [pytest.mark.usefixtures("clinic_db")]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_admin_style_hash_is_allowed_on_admin_pages_only(client_for, staff):
    client = client_for(staff["admin"])
    assert ADMIN_STYLE_SOURCES  # Django's change list still has its inline block
    admin_styles = policy(client.get("/admin/"))["style-src"]
    assert set(ADMIN_STYLE_SOURCES) <= set(admin_styles)
    assert "'unsafe-inline'" not in admin_styles
    home = policy(client.get("/"))
    assert home["style-src"] == ["'self'"] and home["script-src"] == ["'self'"]


@pytest.mark.browser
def test_admin_pages_work_under_the_csp_and_pass_axe(page, live_url, staff, monkeypatch):
    AppointmentTypeFactory()
    exception = ScheduleExceptionFactory(clinician=staff["clinician"])
    # A change list without action bars renders Django's inline <style> (allowed by hash).
    monkeypatch.setattr(admin.site._registry[AppointmentType], "actions_on_top", False)
    monkeypatch.setattr(admin.site._registry[AppointmentType], "actions_on_bottom", False)
    page.set_default_timeout(20_000)
    csp_errors = collect_csp_errors(page)
    sign_in_with_code(page, live_url, staff["admin"])
    found: list[str] = []
    for path in (
        "/admin/",
        "/admin/auth/user/",
        f"/admin/auth/user/{staff['clinician'].pk}/change/",
        "/admin/auth/user/add/",
        "/admin/auth/group/",
        "/admin/scheduling/appointmenttype/",
        "/admin/scheduling/workinghours/add/",
        f"/admin/scheduling/scheduleexception/{exception.pk}/change/",
        "/admin/password_change/",
    ):
        response = page.goto(live_url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        # axe-core sets inline styles of its own while it measures: read the page's errors first.
        assert csp_errors == [], path
        found += axe_violations(page)
        csp_errors.clear()
    # That change list did carry the inline block, and it raised no violation above.
    page.goto(live_url + "/admin/scheduling/appointmenttype/")
    assert page.locator("style").count() == 1
    assert csp_errors == []
    page.goto(f"{live_url}/admin/auth/user/{staff['clinician'].pk}/change/")
    assert page.locator("#id_groups input[type=checkbox]").count() >= 5
    page.locator("text=Save").first.click()
    page.wait_for_url("**/admin/auth/user/")
    assert "was changed successfully" in page.inner_text("body")
    assert found == []
