"""Amendment of a chart entry or a demographic field (45 CFR 164.526), through the pages: the
privacy officer records a request about any kind of item (a note, a problem, an allergy, a
medication, a set of vital signs, a demographic field); a chart entry's goes to the clinician
who recorded it (or, that account inactive, the care-team clinician), a demographic field's is
the privacy officer's to decide. Accepting links an amendment entry to the item, which stays as
it was, and the entry is shown under the item (chart pages, patient summary) and exported with
it (PDF text, FHIR annotations / DocumentReference). A denial, the patient's statement of
disagreement and the rebuttal are attached to exactly that item, shown and exported."""

from __future__ import annotations

import io
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from chart.models import Allergy, ChartHistory, Problem
from clinic import access_log
from patients.models import PatientIdentity
from rights.amendment_models import AmendmentEntry
from rights.models import AmendmentRequest
from tests.factories import (
    AccessRequestFactory,
    AllergyFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    VitalSignsFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def chart(staff):
    """A patient of `clinician` with one item of each kind, all recorded by `clinician`."""
    patient = PatientFactory(first_name="Testpatient", last_name="Amendix")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    author = staff["clinician"]
    return {
        "patient": patient,
        "note": ClinicalRecordFactory(patient=patient, provider=author, signed=True),
        "problem": ProblemFactory(patient=patient, recorded_by=author, note="Fake problem note"),
        "allergy": AllergyFactory(patient=patient, recorded_by=author, substance="Fakecillin"),
        "other_allergy": AllergyFactory(patient=patient, recorded_by=author, substance="Fakeol"),
        "medication": MedicationFactory(patient=patient, recorded_by=author),
        "vital_signs": VitalSignsFactory(patient=patient, recorded_by=author),
    }


@pytest.fixture(name="as_")
def signed_in_as(staff, client_for):
    """as_("privacy"): the test client, signed in (again) as that persona (one client, so each
    step signs in as whoever takes it)."""
    return lambda persona: client_for(staff[persona])


def new_url(patient) -> str:
    return f"/privacy/rights/patients/{patient.pk}/amendments/new/"


def detail_url(a) -> str:
    return f"/privacy/rights/patients/{a.patient_id}/amendments/{a.pk}/"


def decide_url(a) -> str:
    return f"/privacy/rights/routed/{a.pk}/"


def record(client, patient, target: str, text: str = "Fake request") -> AmendmentRequest:
    before = set(AmendmentRequest.objects.using("owner").values_list("pk", flat=True))
    response = client.post(
        new_url(patient),
        {
            "record": target,
            "received_on": timezone.localdate().isoformat(),
            "received_how": "mail",
            "requested": text,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    [created] = AmendmentRequest.objects.using("owner").exclude(pk__in=before)
    return created


def test_privacy_officer_records_a_request_for_each_kind(staff, as_, chart):
    page = as_("privacy").get(new_url(chart["patient"])).content.decode()
    # The items are offered by kind and date, never by their free text.
    assert f"problem:{chart['problem'].pk}" in page and f"allergy:{chart['allergy'].pk}" in page
    assert "Fakecillin" not in page and "Fake problem note" not in page
    targets = {
        "note": str(chart["note"].pk),
        "problem": f"problem:{chart['problem'].pk}",
        "allergy": f"allergy:{chart['allergy'].pk}",
        "medication": f"medication:{chart['medication'].pk}",
        "vital_signs": f"vital_signs:{chart['vital_signs'].pk}",
        "demographic": "demographic:address",
    }
    for kind, target in targets.items():
        created = record(as_("privacy"), chart["patient"], target)
        assert created.target_kind == kind
        if kind == "demographic":
            assert created.demographic_field == "address" and created.routed_to_id is None
        else:
            assert created.target_id == str(chart[kind].pk)
            assert created.routed_to_id == staff["clinician"].pk
        event = events(access_log.AMENDMENT_REQUEST_RECORDED)[-1]
        assert (event.patient_id, event.object_id) == (chart["patient"].pk, str(created.pk))


def test_an_inactive_recorders_entry_goes_to_the_care_team_clinician(staff, as_, chart):
    gone = staff["clinician2"]
    problem = ProblemFactory(patient=chart["patient"], recorded_by=gone)
    type(gone).objects.using("owner").filter(pk=gone.pk).update(is_active=False)
    created = record(as_("privacy"), chart["patient"], f"problem:{problem.pk}")
    assert created.routed_to_id == staff["clinician"].pk


def test_the_recorder_accepts_the_entry_is_linked_and_the_item_unchanged(staff, as_, chart):
    problem = chart["problem"]
    amendment = record(as_("privacy"), chart["patient"], f"problem:{problem.pk}")
    versions = ChartHistory.objects.using("owner").filter(item_id=str(problem.pk)).count()
    # Another clinician neither sees nor decides it.
    assert as_("clinician2").post(decide_url(amendment), {"decision": "deny"}).status_code == 404
    page = as_("clinician").get(decide_url(amendment)).content.decode()
    assert f"/chart/problems/{problem.pk}/" in page
    response = as_("clinician").post(
        decide_url(amendment),
        {
            "decision": "accept",
            "amendment": "Fake amendment: sentinel-problem-amended",
            "notify": "Fake cardiologist",
        },
    )
    assert response.status_code == 302
    amendment.refresh_from_db(using="owner")
    assert (amendment.outcome, amendment.notify) == ("accepted", "Fake cardiologist")
    entry = AmendmentEntry.objects.using("owner").get(amendment=amendment)
    assert (entry.target_kind, entry.problem_id, entry.author_id) == (
        "problem",
        problem.pk,
        staff["clinician"].pk,
    )
    # The original is never overwritten: same row, no new version in the history.
    stored = Problem.objects.using("owner").get(pk=problem.pk)
    assert (stored.note, stored.icd10_code, stored.updated_at) == (
        "Fake problem note",
        "I10",
        problem.updated_at,
    )
    assert ChartHistory.objects.using("owner").filter(item_id=str(problem.pk)).count() == versions
    [added] = events(access_log.AMENDMENT_ENTRY_ADDED)
    assert (added.patient_id, added.object_id) == (chart["patient"].pk, str(entry.pk))
    assert len(events(access_log.AMENDMENT_DECIDED, patient_id=chart["patient"].pk)) == 1
    # Shown under the item: the problem list and the problem's own page.
    for url in (
        f"/chart/patients/{chart['patient'].pk}/problems/",
        f"/chart/problems/{problem.pk}/",
    ):
        assert "sentinel-problem-amended" in as_("clinician").get(url).content.decode()
    # The privacy officer sees the decision, not the clinical text.
    officer_page = as_("privacy").get(detail_url(amendment)).content.decode()
    assert "Accepted (amended)" in officer_page and "sentinel-problem-amended" not in officer_page


def test_the_privacy_officer_decides_a_demographic_field_shown_on_the_summary(staff, as_, chart):
    patient = chart["patient"]
    amendment = record(as_("privacy"), patient, "demographic:address")
    # Not routed to a clinician: nobody's to decide on the clinician's side.
    assert as_("clinician").get(decide_url(amendment)).status_code == 404
    # A form error changes nothing.
    response = as_("privacy").post(detail_url(amendment) + "decide/", {"decision": "accept"})
    assert response.status_code == 400 and "Write the amendment" in response.content.decode()
    assert not AmendmentEntry.objects.using("owner").exists()
    address = PatientIdentity.objects.using("owner").get(pk=patient.pk).address
    response = as_("privacy").post(
        detail_url(amendment) + "decide/",
        {"decision": "accept", "amendment": "Fake correction: sentinel-address-amended"},
    )
    assert response.status_code == 302
    amendment.refresh_from_db(using="owner")
    assert amendment.outcome == "accepted" and amendment.decided_by_id == staff["privacy"].pk
    # The record itself is not silently overwritten: the front desk edits it.
    assert PatientIdentity.objects.using("owner").get(pk=patient.pk).address == address
    for persona in ("frontdesk", "clinician"):
        summary = as_(persona).get(f"/patients/{patient.pk}/").content.decode()
        assert "sentinel-address-amended" in summary and "Address" in summary
    assert "sentinel-address-amended" in as_("privacy").get(detail_url(amendment)).content.decode()
    # A chart entry's request is not the privacy officer's to decide.
    other = record(as_("privacy"), patient, f"allergy:{chart['allergy'].pk}")
    assert (
        as_("privacy").post(detail_url(other) + "decide/", {"decision": "deny"}).status_code == 404
    )


def _deny(client, amendment, reason: str) -> None:
    response = client.post(
        decide_url(amendment),
        {"decision": "deny", "denial_ground": "accurate", "denial_reason": reason},
    )
    assert response.status_code == 302


def test_denial_disagreement_and_amendments_travel_with_exactly_their_item(staff, as_, chart):
    patient, allergy = chart["patient"], chart["allergy"]
    denied = record(
        as_("privacy"), patient, f"allergy:{allergy.pk}", "Fake ask: sentinel-allergy-ask"
    )
    _deny(as_("clinician"), denied, "Fake reason: sentinel-allergy-denied")
    for step, text in (
        ("disagreement", "Fake statement: sentinel-allergy-disagree"),
        ("rebuttal", "Fake rebuttal: sentinel-allergy-rebut"),
    ):
        assert (
            as_("privacy").post(detail_url(denied) + f"{step}/", {"text": text}).status_code == 302
        )
    accepted = record(as_("privacy"), patient, f"medication:{chart['medication'].pk}")
    as_("clinician").post(
        decide_url(accepted),
        {"decision": "accept", "amendment": "Fake amendment: sentinel-med-amended"},
    )
    vitals = record(as_("privacy"), patient, f"vital_signs:{chart['vital_signs'].pk}")
    as_("clinician").post(
        decide_url(vitals),
        {"decision": "accept", "amendment": "Fake amendment: sentinel-vitals-amended"},
    )
    demographic = record(as_("privacy"), patient, "demographic:phone")
    as_("privacy").post(
        detail_url(demographic) + "decide/",
        {"decision": "accept", "amendment": "Fake correction: sentinel-phone-amended"},
    )
    assert Allergy.objects.using("owner").get(pk=allergy.pk).substance == "Fakecillin"
    # Shown under the allergy on the chart, to the clinicians who may see the patient.
    allergies = as_("clinician").get(f"/chart/patients/{patient.pk}/allergies/").content.decode()
    for sentinel in ("allergy-denied", "allergy-disagree", "allergy-rebut", "allergy-ask"):
        assert f"sentinel-{sentinel}" in allergies
    medications = (
        as_("clinician").get(f"/chart/patients/{patient.pk}/medications/").content.decode()
    )
    assert "sentinel-med-amended" in medications
    summary = as_("clinician").get(f"/chart/patients/{patient.pk}/").content.decode()
    assert "sentinel-med-amended" in summary and "sentinel-allergy-disagree" in summary
    # Exported with exactly that item.
    request = AccessRequestFactory(patient=patient, format="both")
    base = f"/privacy/rights/patients/{patient.pk}/requests/{request.pk}/export/"
    bundle = Bundle.model_validate(json.loads(as_("privacy").post(base + "fhir/").content))
    resources = [e.resource for e in bundle.entry]

    def notes(resource) -> str:
        return " ".join(n.text for n in resource.note or [])

    by_id = {r.id: r for r in resources}
    annotated = notes(by_id[str(allergy.pk)])
    for sentinel in ("allergy-denied", "allergy-disagree", "allergy-rebut", "allergy-ask"):
        assert f"sentinel-{sentinel}" in annotated
    assert "Statement of disagreement" in annotated
    assert "sentinel" not in notes(by_id[str(chart["other_allergy"].pk)])
    assert "sentinel-med-amended" in notes(by_id[str(chart["medication"].pk)])
    observations = [r for r in resources if r.__resource_type__ == "Observation"]
    assert observations and all("sentinel-vitals-amended" in notes(o) for o in observations)
    assert "sentinel" not in notes(by_id[str(chart["problem"].pk)])
    documents = [
        r
        for r in resources
        if r.__resource_type__ == "DocumentReference"
        and r.subject.reference.startswith("Patient")
        and r.description == "Demographic field: Phone"
    ]
    [phone] = documents
    assert phone.content[0].attachment.data.decode() == "Fake correction: sentinel-phone-amended"
    pdf = as_("privacy").post(base + "pdf/").content
    whole = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    for sentinel in (
        "allergy-denied",
        "allergy-disagree",
        "allergy-rebut",
        "med-amended",
        "vitals-amended",
        "phone-amended",
    ):
        assert f"sentinel-{sentinel}" in whole
    assert "Phone: Amendment" in whole


def test_another_patients_export_carries_none_of_it(staff, as_, chart):
    amendment = record(as_("privacy"), chart["patient"], f"problem:{chart['problem'].pk}")
    as_("clinician").post(
        decide_url(amendment),
        {"decision": "accept", "amendment": "Fake amendment: sentinel-not-yours"},
    )
    stranger = PatientFactory(first_name="Otherpatient", last_name="Elsewhere")
    request = AccessRequestFactory(patient=stranger, format="both")
    base = f"/privacy/rights/patients/{stranger.pk}/requests/{request.pk}/export/"
    assert b"sentinel-not-yours" not in as_("privacy").post(base + "fhir/").content
    pdf = as_("privacy").post(base + "pdf/").content
    whole = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "sentinel-not-yours" not in whole
