"""In Chromium: the author opens an unsigned visit, signs it; the edit button is gone; they add
an addendum and see it under the note, signed with their name. Under the real CSP."""

from __future__ import annotations

import re

import pytest

from records.models import ClinicalRecord, VisitAddendum
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]

ADDENDUM = "Fake addendum from the browser test: follow-up in two weeks, not one."


def test_clinician_signs_a_note_then_adds_an_addendum_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    visit = ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], notes="Fake note to sign in the browser."
    )
    csp_errors = collect_csp_errors(page)

    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/visits/{visit.pk}/")
    assert page.locator(f"a[href='/visits/{visit.pk}/edit/']").count() == 1
    assert "Not signed" in page.inner_text("#note-signature")

    page.click("button:has-text('Sign note')")
    page.wait_for_selector("text=Note signed.")
    assert re.search(r"Signed by .+ on \d{4}-\d{2}-\d{2}", page.inner_text("#note-signature"))
    assert page.locator(f"a[href='/visits/{visit.pk}/edit/']").count() == 0
    assert page.locator("button:has-text('Sign note')").count() == 0

    page.fill("#id_text", ADDENDUM)
    page.click("button:has-text('Add addendum')")
    page.wait_for_selector("text=Addendum added and signed.")
    addendum = page.locator(".addenda .addendum")
    assert addendum.count() == 1
    assert ADDENDUM in addendum.first.inner_text()
    assert "Signed by" in addendum.first.inner_text()
    # Under the note: the note comes first on the page, then its addenda.
    main = page.inner_text("main")
    assert main.index("Fake note to sign in the browser.") < main.index(ADDENDUM)
    screenshot(page, "signed-note-with-addendum")

    # The edit page itself is refused now.
    response = page.goto(f"{live_url}/visits/{visit.pk}/edit/")
    assert response is not None and response.status == 403
    assert csp_errors == []
    record = ClinicalRecord.objects.using("owner").get()
    assert (record.signed_by_id, record.version) == (staff["clinician"].pk, 2)
    assert VisitAddendum.objects.using("owner").get().text == ADDENDUM
