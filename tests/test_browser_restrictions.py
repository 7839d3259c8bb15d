"""In Chromium: the privacy officer records a patient's restriction (164.522(a)) and an
alternative phone (confidential communications, 164.522(b)) from the rights console (patient
found by MRN, POSTed); the front desk then sees "Restriction agreed: ..." on the patient's
summary, without the detail, and the alternative phone in place of the default. The pages run
under the real CSP; nothing typed reaches the address bar."""

from __future__ import annotations

import pytest

from rights.restriction_models import SELF_PAY, Restriction
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in, sign_in_with_code
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_privacy_officer_records_restriction_and_contact_the_front_desk_sees_them(
    page, live_url, staff
):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    csp_errors = collect_csp_errors(page)

    sign_in_with_code(page, live_url, staff["privacy"])
    page.goto(f"{live_url}/privacy/rights/")
    page.fill("#restriction_mrn", patient.mrn)
    page.click("#restriction-find button")
    page.wait_for_url(f"**/patients/{patient.pk}/restrictions/")
    page.select_option("#id_category", SELF_PAY)
    page.fill("#id_detail", "Fake detail: the visit of this week, paid at the desk")
    page.check("#id_decision_0")  # Agreed
    page.click("text=Record restriction")
    page.wait_for_selector("text=Restriction recorded: Agreed.")
    assert "In force" in page.inner_text("#restrictions")
    assert "Fake" not in page.url and patient.mrn not in page.url
    restriction = Restriction.objects.using("owner").get(patient_id=patient.pk)
    assert (restriction.category, restriction.decided_by_id) == (SELF_PAY, staff["privacy"].pk)
    # Confidential communications (164.522(b)): an alternative phone, instead of the default.
    page.fill("#id_alt_phone", "555-0188")
    page.click("text=Record confidential communications")
    page.wait_for_selector("text=Confidential communications recorded.")

    desk = page.context.browser.new_context(base_url=live_url).new_page()
    desk_csp_errors = collect_csp_errors(desk)
    sign_in(desk, live_url, "t-frontdesk")
    desk.wait_for_url(f"{live_url}/")
    desk.goto(f"{live_url}/patients/{patient.pk}/")
    banner = desk.inner_text(".restriction-banner")
    assert "Restriction agreed:" in banner and "paid out of pocket" in banner
    assert "paid at the desk" not in desk.content()
    contact = desk.inner_text("#confidential-contact")
    assert "Confidential communications: contact only here" in contact and "555-0188" in contact
    assert "***-0100" not in desk.content()  # the default phone, hidden while in force
    screenshot(desk, "restriction-banner")
    desk.context.close()
    assert csp_errors == [] and desk_csp_errors == []
