"""In Chromium with a short idle limit (10 s, warning 4 s before): typing in the visit form keeps
the session alive (polling alone never does); when the clinician stops, the unsaved note is kept
on the server (encrypted) before the page is blanked, and after signing in again the same
clinician is back in the form with the text."""

from __future__ import annotations

import re

import pytest

from clinic import access_log
from records.drafts import VisitNoteDraft
from records.models import ClinicalRecord
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.conftest import PASSWORD
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


@pytest.fixture(autouse=True)
def short_session(settings):
    settings.SESSION_IDLE_SECONDS = 10
    settings.SESSION_EXPIRE_SECONDS = 10
    settings.SESSION_WARNING_SECONDS = 4


def test_typing_renews_and_the_note_survives_idle_sign_out(page, live_url, staff):
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    csp_errors = collect_csp_errors(page)
    page.set_default_timeout(20_000)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    form_url = f"{live_url}/patients/{patient.pk}/visits/new/"
    page.goto(form_url)
    page.fill("#id_visit_date", "2024-03-04")
    page.fill("#id_diagnosis_code", "J06.9")

    # 16 s of typing, longer than the idle limit: still signed in, no warning.
    page.click("#id_notes")
    for _ in range(16):
        page.keyboard.type("Fake note. ")
        page.wait_for_timeout(1_000)
    assert page.url == form_url
    assert not page.locator("#session-warning").is_visible()
    typed = page.input_value("#id_notes")
    assert typed == "Fake note. " * 16

    # Then nothing: the warning, the draft, and the sign-in page leading back to the form.
    page.wait_for_url(re.compile(r".*/account/sign-in/\?expired=idle&next=.*"), timeout=20_000)
    assert "Fake note" not in page.content()
    draft = VisitNoteDraft.objects.using("owner").get()
    assert (draft.staff_id, draft.patient_id, draft.notes) == (
        staff["clinician"].pk,
        patient.pk,
        typed,
    )
    assert [e.patient_id for e in events(access_log.DRAFT_SAVED)] == [patient.pk]

    page.fill("#id_username", "t-clinician")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(form_url)
    assert page.input_value("#id_notes") == typed
    assert page.input_value("#id_diagnosis_code") == "J06.9"
    assert "is back in the form" in page.inner_text("main")
    assert [e.patient_id for e in events(access_log.DRAFT_RESTORED)] == [patient.pk]
    screenshot(page, "visit-note-draft-restored")

    page.click("main button.primary")
    page.wait_for_url(re.compile(r".*/visits/[0-9a-f-]{36}/$"))
    assert ClinicalRecord.objects.using("owner").get().notes == typed
    assert VisitNoteDraft.objects.using("owner").count() == 0
    assert csp_errors == []
