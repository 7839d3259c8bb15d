"""In Chromium: the privacy officer takes a patient's right-of-access request (164.524) from the
console, produces the PDF and the FHIR Bundle (downloads whose SHA-256 the request page shows),
records the hand-over and closes the request as fulfilled. The pages run under the real CSP;
nothing typed reaches the address bar."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from privacy.models import Disclosure
from rights.models import AccessRequest
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.conftest import current_code, give_totp
from tests.factories import AccessRequestFactory, ClinicalRecordFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def download(page, button: str) -> bytes:
    with page.expect_download() as info:
        page.click(button)
    return Path(info.value.path()).read_bytes()


def test_privacy_officer_takes_and_fulfils_a_request_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    ClinicalRecordFactory(patient=patient, notes="Fake note: sentinel-browser-3e1f")
    # An older request, overdue, for the list (and the README's screenshot).
    AccessRequestFactory(
        patient=PatientFactory(first_name="Robin", last_name="Testperson"),
        received_on=timezone.localdate() - timedelta(days=33),
    )
    csp_errors = collect_csp_errors(page)

    device = give_totp(staff["privacy"])
    sign_in(page, live_url, "t-privacy")
    page.wait_for_url("**/account/mfa/verify/**")
    page.fill("#id_otp_token", current_code(device))
    page.click("main button.primary")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/privacy/")
    page.click("text=Right of access requests")
    page.wait_for_url(f"{live_url}/privacy/rights/")
    page.fill("#id_mrn", patient.mrn)
    page.click("text=Find patient")
    page.wait_for_url(f"**/patients/{patient.pk}/requests/new/")
    page.select_option("#id_received_how", "mail")
    page.select_option("#id_verified_how", "signature_match")
    page.fill("#id_requested", "Fake request: every visit and note")
    page.select_option("#id_format", "both")
    page.select_option("#id_delivery", "secure_email")
    page.click("text=Record request")
    page.wait_for_selector("text=Request recorded")
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert page.inner_text("#due-on") == due

    pdf = download(page, "#export-pdf")
    assert pdf.startswith(b"%PDF")
    page.reload()
    bundle = download(page, "#export-fhir")
    assert json.loads(bundle)["resourceType"] == "Bundle"
    page.reload()
    assert page.inner_text("#pdf-sha256") == hashlib.sha256(pdf).hexdigest()
    assert page.inner_text("#fhir-sha256") == hashlib.sha256(bundle).hexdigest()

    page.click("#hand-over")
    page.wait_for_selector("text=Hand-over recorded")
    page.select_option("#id_outcome", "fulfilled")
    page.click("text=Close request")
    page.wait_for_url(f"{live_url}/privacy/rights/")
    page.wait_for_selector("text=Request closed: Fulfilled.")
    assert "Overdue" in page.inner_text("#open-requests")
    screenshot(page, "rights-requests")

    request = AccessRequest.objects.using("owner").get(patient_id=patient.pk)
    assert (request.outcome, request.handed_over_on) == ("fulfilled", timezone.localdate())
    assert Disclosure.objects.using("owner").get(patient_id=patient.pk).category == (
        "to_individual"
    )
    assert "Fake" not in page.url and patient.mrn not in page.url
    assert csp_errors == []
