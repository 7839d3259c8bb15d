"""In Chromium (issue 16, items 6 and 10): the privacy officer finds a patient by last name and
date of birth, reads the access report with a probe by a clinician outside the care team in it,
and sorts the report and the access log by a column; nothing typed reaches the address bar. The
probing clinician sees the same "not on your care team" page as on the patient's visit list."""

from __future__ import annotations

import pytest

from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.conftest import current_code, give_totp
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]
TYPED = "Zzbrowserlookup"


def test_a_probe_is_found_by_name_and_sorted_in_chromium(browser, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name=TYPED)
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    visit = ClinicalRecordFactory(patient=patient, provider=staff["clinician"])

    prober = browser.new_context().new_page()
    prober.set_default_timeout(30_000)
    sign_in(prober, live_url, "t-clinician2")
    prober.wait_for_url(f"{live_url}/")
    prober.goto(f"{live_url}/visits/{visit.pk}/")
    assert prober.locator("h1").inner_text() == "Not on your care team"
    assert (
        prober.locator("a:has-text('Break the glass')")
        .get_attribute("href")
        .startswith(f"/break-glass/{patient.pk}/")
    )

    page = browser.new_context().new_page()
    page.set_default_timeout(30_000)
    csp_errors = collect_csp_errors(page)
    device = give_totp(staff["privacy"])
    sign_in(page, live_url, "t-privacy")
    page.wait_for_url("**/account/mfa/verify/**")
    page.fill("#id_otp_token", current_code(device))
    page.click("main button.primary")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/privacy/")
    form = page.locator("form[aria-label='Find by last name and date of birth']")
    form.locator("input[name=last_name]").fill(TYPED)
    form.locator("input[name=date_of_birth]").fill(patient.date_of_birth.isoformat())
    form.locator("button").click()
    page.wait_for_url(f"**/privacy/patients/{patient.pk}/")
    assert TYPED not in page.url
    report = page.locator("table.sortable tbody").inner_text()
    assert "t-clinician2" in report and "Access refused" in report

    page.click("table.sortable th >> text=Staff")
    page.wait_for_url("**sort=staff")
    staff_header = page.locator("th[aria-sort=ascending]")
    assert staff_header.inner_text().lower() == "staff"  # (headers are styled upper case)
    screenshot(page, "privacy-access-report-sorted")

    page.click("text=In the access log")
    page.wait_for_selector("table.sortable")
    page.click("button.sort[data-sort=action]")
    page.wait_for_selector("th[aria-sort=ascending] >> text=Action")
    cells = page.locator("table.sortable tbody td:nth-child(5)")
    actions = [cells.nth(i).get_attribute("title") for i in range(cells.count())]
    assert len(actions) >= 2 and actions == sorted(actions)  # by the stored action name
    assert "sort" not in page.url and TYPED not in page.url
    screenshot(page, "privacy-access-log-sorted")
    assert csp_errors == []
