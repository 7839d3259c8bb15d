"""In Chromium: the amendment of a visit note (45 CFR 164.526) as built today. The privacy officer
records a request from the rights console (the patient found by MRN, POSTed); the note's author
signs in, finds it routed to them and accepts it: the amendment shows under the note as their
signed addendum and the note itself is unchanged. A second request is denied with a ground and a
written reason; the privacy officer attaches the patient's statement of disagreement, and the
next export of the record (the PDF, text extracted) carries the denial and the statement with the
note. The pages run under the real CSP; nothing typed reaches the address bar."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from records.models import ClinicalRecord, VisitAddendum
from rights.amendment_services import AMENDMENT_PREFIX
from rights.models import ACCEPTED, DENIED, AmendmentRequest
from tests.browser_helpers import (
    clinician_page,
    collect_csp_errors,
    open_routed_amendment,
    record_amendment_request,
    sign_in_with_code,
)
from tests.factories import (
    AccessRequestFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]

FIRST_NOTE = "Fake note: sentinel-first-5a1c, left knee pain."
SECOND_NOTE = "Fake note: sentinel-second-9b3e, says the patient smokes."
AMENDMENT = "Fake amendment: sentinel-amend-2d7f, it was the right knee."
DENIAL_REASON = "Fake reason: sentinel-denial-6c0a, the note is accurate."
DISAGREEMENT = "Fake statement: sentinel-disagree-8e4b, I have never smoked."


def record_request(page, live_url: str, patient, record, text: str) -> AmendmentRequest:
    record_amendment_request(page, live_url, patient, str(record.pk), text)
    return AmendmentRequest.objects.using("owner").get(record_id=record.pk)


def test_amendment_accepted_then_denied_with_a_statement_of_disagreement_in_chromium(
    page, live_url, staff
):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    first, second = (
        ClinicalRecordFactory(
            patient=patient,
            provider=staff["clinician"],
            signed=True,
            visit_date=day,
            notes=note,
        )
        for day, note in ((date(2024, 2, 3), FIRST_NOTE), (date(2024, 3, 4), SECOND_NOTE))
    )
    csp_errors = collect_csp_errors(page)
    sign_in_with_code(page, live_url, staff["privacy"])
    to_accept = record_request(
        page, live_url, patient, first, "Fake request: the note says left knee"
    )

    # The note's author, in a browser of their own.
    author, author_csp_errors = clinician_page(page, live_url, "t-clinician")
    open_routed_amendment(author, live_url, to_accept.pk, routed=1)
    assert "the note says left knee" in author.inner_text("main")
    author.check("#id_decision_0")  # Accept
    author.fill("#id_amendment", AMENDMENT)
    author.fill("#id_notify", "Fake notify: Dr Testreferrer")
    author.click("text=Record decision")
    author.wait_for_selector("text=Decision recorded.")
    author.click(f"a[href='/visits/{first.pk}/']")
    author.wait_for_url(f"**/visits/{first.pk}/")
    addenda = author.locator(".addenda .addendum")
    assert addenda.count() == 1
    assert AMENDMENT_PREFIX + AMENDMENT in " ".join(addenda.first.inner_text().split())
    main = author.inner_text("main")
    assert main.index(FIRST_NOTE) < main.index(AMENDMENT)
    assert ClinicalRecord.objects.using("owner").get(pk=first.pk).notes == FIRST_NOTE

    # A second request, denied with a ground and a reason.
    to_deny = record_request(
        page, live_url, patient, second, "Fake request: remove the smoking remark"
    )
    open_routed_amendment(author, live_url, to_deny.pk, routed=2)
    author.check("#id_decision_1")  # Deny
    author.select_option("#id_denial_ground", "accurate")
    author.fill("#id_denial_reason", DENIAL_REASON)
    author.click("text=Record decision")
    author.wait_for_selector("text=Decision recorded.")
    author.context.close()

    # The privacy officer attaches the patient's statement of disagreement.
    page.goto(f"{live_url}/privacy/rights/patients/{patient.pk}/amendments/{to_deny.pk}/")
    page.fill("form[action$='/disagreement/'] textarea", DISAGREEMENT)
    page.click("form[action$='/disagreement/'] button")
    page.wait_for_selector("text=Recorded.")
    assert DISAGREEMENT in page.inner_text("main")

    decided = {
        a.pk: a for a in AmendmentRequest.objects.using("owner").filter(patient_id=patient.pk)
    }
    assert decided[to_accept.pk].outcome == ACCEPTED
    assert decided[to_accept.pk].addendum_id is not None
    assert (decided[to_deny.pk].outcome, decided[to_deny.pk].denial_ground) == (DENIED, "accurate")
    assert VisitAddendum.objects.using("owner").filter(record_id=second.pk).count() == 0
    assert ClinicalRecord.objects.using("owner").get(pk=second.pk).notes == SECOND_NOTE

    # The next export of the record carries the amendment, the denial and the statement.
    access = AccessRequestFactory(patient=patient, format="pdf")
    page.goto(f"{live_url}/privacy/rights/patients/{patient.pk}/requests/{access.pk}/")
    with page.expect_download() as info:
        page.click("#export-pdf")
    content = Path(info.value.path()).read_bytes()
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split()
    )
    for expected in (FIRST_NOTE, AMENDMENT, SECOND_NOTE, DENIAL_REASON, DISAGREEMENT):
        assert expected in text, expected
    assert text.index(SECOND_NOTE) < text.index(DISAGREEMENT)
    assert csp_errors == [] and author_csp_errors == []
