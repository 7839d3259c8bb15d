"""In Chromium: the amendment of a chart entry (45 CFR 164.526), an allergy. The privacy officer
records the patient's request from the rights console (the patient found by MRN, POSTed, the
allergy chosen by kind and date); the clinician who recorded the allergy signs in, finds the
request routed to them and accepts it with the amendment's text; the text then shows under that
allergy (and no other) on the chart's allergy list and on the chart summary, while the allergy
itself is unchanged. The pages run under the real CSP; nothing typed reaches the address bar.
(A visit note's amendment: tests/test_browser_amendment.py.)"""

from __future__ import annotations

import pytest

from chart.models import Allergy
from rights.amendment_models import AmendmentEntry
from rights.models import ACCEPTED, AmendmentRequest
from tests.browser_helpers import (
    clinician_page,
    collect_csp_errors,
    open_routed_amendment,
    record_amendment_request,
    screenshot,
    sign_in_with_code,
)
from tests.factories import AllergyFactory, CareTeamMemberFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]

AMENDMENT = "Fake amendment: sentinel-allergy-7c2e, the reaction was a mild rash."
REQUEST = "Fake request: sentinel-ask-4f9d, the reaction was not anaphylaxis"


def test_allergy_amendment_accepted_by_its_recorder_shows_under_it_in_chromium(
    page, live_url, staff
):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    allergy = AllergyFactory(
        patient=patient, recorded_by=staff["clinician"], substance="Fakecillin"
    )
    other = AllergyFactory(patient=patient, recorded_by=staff["clinician"], substance="Fakeol")
    csp_errors = collect_csp_errors(page)

    # The privacy officer records the request about the allergy.
    sign_in_with_code(page, live_url, staff["privacy"])
    record_amendment_request(page, live_url, patient, f"allergy:{allergy.pk}", REQUEST)
    amendment = AmendmentRequest.objects.using("owner").get(patient_id=patient.pk)
    assert (amendment.target_kind, amendment.routed_to_id) == ("allergy", staff["clinician"].pk)

    # The clinician who recorded the allergy, in a browser of their own, accepts it.
    author, author_csp_errors = clinician_page(page, live_url, "t-clinician")
    open_routed_amendment(author, live_url, amendment.pk, routed=1)
    assert "sentinel-ask-4f9d" in author.inner_text("main")
    author.check("#id_decision_0")  # Accept
    author.fill("#id_amendment", AMENDMENT)
    author.click("text=Record decision")
    author.wait_for_selector("text=Decision recorded.")
    assert "Fake" not in author.url

    # Shown under that allergy on the allergy list, and under no other.
    author.goto(f"{live_url}/chart/patients/{patient.pk}/allergies/")
    rows = author.locator("main table tbody tr")
    texts = [" ".join(rows.nth(i).inner_text().split()) for i in range(rows.count())]
    [amended_at] = [i for i, text in enumerate(texts) if AMENDMENT in text]
    assert texts[amended_at - 1].startswith("Fakecillin")
    assert "Amended at the patient's request" in texts[amended_at]
    assert not any(AMENDMENT in text for text in texts if text.startswith("Fakeol"))
    screenshot(author, "amendment-under-allergy")
    # And on the chart summary, inside the allergy's own list item.
    author.goto(f"{live_url}/chart/patients/{patient.pk}/")
    item = author.locator("li", has_text="Fakecillin")
    assert AMENDMENT in " ".join(item.inner_text().split())
    assert AMENDMENT not in author.locator("li", has_text="Fakeol").inner_text()
    author.context.close()

    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == ACCEPTED and amendment.decided_by_id == staff["clinician"].pk
    entry = AmendmentEntry.objects.using("owner").get(amendment=amendment)
    assert (entry.allergy_id, entry.author_id) == (allergy.pk, staff["clinician"].pk)
    # Accepting never overwrites the allergy.
    stored = Allergy.objects.using("owner").get(pk=allergy.pk)
    assert (stored.substance, stored.updated_at) == ("Fakecillin", allergy.updated_at)
    assert Allergy.objects.using("owner").get(pk=other.pk).substance == "Fakeol"
    assert csp_errors == [] and author_csp_errors == []
