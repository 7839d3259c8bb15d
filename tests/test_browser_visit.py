"""In Chromium: the front desk puts a clinician on a patient's care team; the clinician signs
in, finds the patient under "My patients", records a visit using an ICD-10-CM suggestion and
sees it in the visit list. The page runs under the real CSP (no inline script)."""

from __future__ import annotations

import re

import pytest

from records.models import ClinicalRecord
from tests.browser_helpers import collect_csp_errors, sign_in
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_care_team_then_visit_with_icd10_suggestion_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    csp_errors = collect_csp_errors(page)

    sign_in(page, live_url, "t-frontdesk")

    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/patients/{patient.pk}/care-team/")
    page.select_option("#id_staff", str(staff["clinician"].pk))
    page.fill("#id_reason", "primary care")
    page.click("text=Add to care team")
    page.wait_for_selector("text=Clinician added to the care team.")
    assert "current" in page.locator("table").inner_text()
    page.click("text=Sign out")
    page.wait_for_url("**/account/sign-in/")

    sign_in(page, live_url, "t-clinician")

    page.wait_for_url(f"{live_url}/")
    page.click("text=My patients")
    page.click(f"a[href='/patients/{patient.pk}/visits/']")
    page.click("text=Record a visit")
    page.fill("#id_visit_date", "2024-03-04")
    page.locator("#id_diagnosis_code").press_sequentially("essential hyper", delay=20)
    suggestion = page.locator("#icd10-suggestions button[data-code='I10']")
    suggestion.wait_for()
    suggestion.click()
    assert page.input_value("#id_diagnosis_code") == "I10"
    assert "Essential (primary) hypertension" in page.inner_text("#icd10-description")
    page.fill("#id_notes", "Fake note written in the browser test.")
    page.click("text=Save visit")
    page.wait_for_url(re.compile(r".*/visits/[0-9a-f-]{36}/$"))
    assert "Essential (primary) hypertension" in page.inner_text("main")
    assert "Fake note written in the browser test." in page.inner_text("main")

    page.click("text=All visits")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert "2024-03-04" in rows.first.inner_text()
    assert "I10" in rows.first.inner_text()
    assert csp_errors == []
    record = ClinicalRecord.objects.using("owner").get()
    assert (record.diagnosis_code, record.provider_id) == ("I10", staff["clinician"].pk)
