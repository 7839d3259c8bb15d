"""In Chromium: a visit note over the length limit is never cut by the browser. A live count
shows the length as the server counts it (a line break is two characters once sent), the server
refuses an over-long note with a message and keeps all of it in the form, and a note exactly at
the limit is saved whole."""

from __future__ import annotations

import re

import pytest

from records.forms import NOTES_MAX_LENGTH
from records.models import ClinicalRecord
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import CareTeamMemberFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_long_note_is_counted_refused_with_a_message_and_never_cut(page, live_url, staff):
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    csp_errors = collect_csp_errors(page)
    page.set_default_timeout(20_000)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/patients/{patient.pk}/visits/new/")
    assert page.get_attribute("#id_notes", "maxlength") is None
    count = page.locator("#id_notes_count")
    assert count.inner_text().startswith("0 of 20,000 characters")

    too_long = "Fake note. " * (NOTES_MAX_LENGTH // 11) + "x" * (NOTES_MAX_LENGTH % 11 + 5)
    page.fill("#id_visit_date", "2024-03-04")
    page.fill("#id_diagnosis_code", "J06.9")
    page.fill("#id_notes", too_long)
    assert "20,005 of 20,000 characters" in count.inner_text()
    assert "5 over the limit" in count.inner_text()
    assert "over-limit" in (count.get_attribute("class") or "")
    assert len(page.input_value("#id_notes")) == len(too_long)  # nothing cut in the browser

    page.click("main button.primary")
    page.wait_for_selector("text=Nothing was saved")
    message = page.inner_text(".field:has(#id_notes) [role=alert]")
    assert "20005 characters long: a note holds at most 20000 characters" in message
    assert page.input_value("#id_notes") == too_long  # all of it back, to shorten
    assert ClinicalRecord.objects.using("owner").count() == 0
    screenshot(page, "visit-note-too-long")

    # Five line breaks are sent as CRLF: 19,995 characters + 5 breaks = 20,000 as the server
    # counts, and the live count agrees.
    at_limit = "y" * (NOTES_MAX_LENGTH - 10) + "\n" * 5
    page.fill("#id_notes", at_limit)
    assert "20,000 of 20,000 characters" in count.inner_text()
    assert "over" not in count.inner_text()
    page.click("main button.primary")
    page.wait_for_url(re.compile(r".*/visits/[0-9a-f-]{36}/$"))
    saved = ClinicalRecord.objects.using("owner").get()
    assert len(saved.notes) == NOTES_MAX_LENGTH and saved.notes.count("\r\n") == 5
    assert csp_errors == []
