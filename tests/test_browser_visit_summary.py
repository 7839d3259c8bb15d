"""In Chromium: the clinician prints the visit summary for the patient from the visit page (a
POST button); the browser gets a PDF download named by the visit, never the patient, whose text
holds the patient's name and the signed note; the page stays where it was; the real CSP holds."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from clinic import access_log
from tests.browser_helpers import collect_csp_errors, sign_in
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]

NOTE = "Fake note: sentinel-summary-4f2a, rest the knee."


def test_clinician_prints_the_visit_summary_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    visit = ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], signed=True, notes=NOTE
    )
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/visits/{visit.pk}/")
    with page.expect_download() as info:
        page.click("button:has-text('Print visit summary (PDF)')")
    download = info.value
    today = timezone.localdate()
    assert download.suggested_filename == f"visit-summary-{visit.pk}-{today:%Y%m%d}.pdf"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Visit summary for Robin Testperson" in text and NOTE in " ".join(text.split())
    assert page.url == f"{live_url}/visits/{visit.pk}/"
    [event] = events(access_log.VISIT_SUMMARY_PRODUCED)
    assert (event.patient_id, event.object_id) == (patient.pk, str(visit.pk))
    assert csp_errors == []
