"""Restrictions on uses and disclosures (45 CFR 164.522(a)), through the pages: the privacy
officer records a request with the decision (the out-of-pocket one cannot be refused), views and
ends one; every role that can see the patient then sees "Restriction agreed: ..." on the patient
header (summary, chart, visits, booking), never the detail; the disclosures form warns and needs
an explicit confirmation for a disclosure a restriction covers. Every step is an access-log
event; refusals are 403/404 with an event tied to the patient; bad input changes nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from clinic import access_log
from privacy.models import Disclosure
from rights.restriction_models import AGREED, CLINIC_INFORMED, REFUSED, SELF_PAY, Restriction
from tests.factories import (
    TOMORROW,
    CareTeamMemberFactory,
    PatientFactory,
    RestrictionFactory,
    at_run_time,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
DETAIL = "Fake detail: not to Testcousin Sentinel-5c1f"
BANNER = "Restriction agreed:"


def list_url(patient) -> str:
    return f"/privacy/rights/patients/{patient.pk}/restrictions/"


def detail_url(r) -> str:
    return f"/privacy/rights/patients/{r.patient_id}/restrictions/{r.pk}/"


def form(**changes) -> dict:
    return {
        "received_on": timezone.localdate().isoformat(),
        "category": "named_person",
        "detail": DETAIL,
        "decision": AGREED,
        **changes,
    }


def stored() -> list[Restriction]:
    return list(Restriction.objects.using("owner").all())


def test_privacy_officer_finds_the_patient_and_records_an_agreed_restriction(
    staff, client_for, patient
):
    client = client_for(staff["privacy"])
    response = client.post("/privacy/rights/restrictions/find/", {"mrn": patient.mrn})
    assert response.url == list_url(patient)
    assert client.get(response.url).status_code == 200
    assert client.post(list_url(patient), form()).status_code == 302
    [restriction] = stored()
    assert restriction.decided_by_id == staff["privacy"].pk
    assert restriction.decided_on == timezone.localdate() and restriction.detail == DETAIL
    [event] = events(access_log.RESTRICTION_RECORDED)
    assert event.patient_id == patient.pk and event.object_id == str(restriction.pk)
    assert event.reason == "named_person agreed"
    page = client.get(list_url(patient)).content.decode()
    assert "In force" in page and DETAIL not in page  # the list names the category only
    assert len(events(access_log.RESTRICTIONS_LISTED, patient_id=patient.pk)) == 2
    page = client.get(detail_url(restriction)).content.decode()
    assert DETAIL in page
    [viewed] = events(access_log.RESTRICTION_VIEWED)
    assert viewed.patient_id == patient.pk and viewed.object_id == str(restriction.pk)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category": SELF_PAY, "decision": REFUSED}, "must be agreed"),
        ({"received_on": TOMORROW}, "future"),
        ({"detail": "   "}, "This field is required"),
        ({"category": "everything"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_message_and_nothing_is_saved(
    staff, client_for, patient, changes, message
):
    response = client_for(staff["privacy"]).post(list_url(patient), form(**at_run_time(changes)))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert stored() == [] and events(access_log.RESTRICTION_RECORDED) == []


def test_ending_a_restriction_and_the_out_of_pocket_one_only_by_the_patient(
    staff, client_for, patient
):
    client = client_for(staff["privacy"])
    self_pay = RestrictionFactory(patient=patient, category=SELF_PAY)
    page = client.get(detail_url(self_pay)).content.decode()
    assert CLINIC_INFORMED not in page
    response = client.post(detail_url(self_pay) + "end/", {"how": CLINIC_INFORMED})
    assert response.status_code == 400
    self_pay.refresh_from_db(using="owner")
    assert self_pay.ended_on is None
    assert client.post(detail_url(self_pay) + "end/", {"how": "patient_written"}).status_code == 302
    self_pay.refresh_from_db(using="owner")
    assert self_pay.ended_on == timezone.localdate() and self_pay.ended_by_id == staff["privacy"].pk
    [event] = events(access_log.RESTRICTION_ENDED)
    assert event.patient_id == patient.pk and event.reason == "patient_written"
    # Ended: no second ending.
    client.post(detail_url(self_pay) + "end/", {"how": "patient_oral"})
    assert len(events(access_log.RESTRICTION_ENDED)) == 1


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin"])
def test_only_the_privacy_officer_reaches_the_pages(staff, client_for, patient, persona):
    restriction = RestrictionFactory(patient=patient)
    client = client_for(staff[persona])
    for method, url in [
        ("get", list_url(patient)),
        ("post", list_url(patient)),
        ("get", detail_url(restriction)),
        ("post", detail_url(restriction) + "end/"),
    ]:
        assert getattr(client, method)(url, form() if method == "post" else {}).status_code == 403
    refused = events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)
    assert len(refused) == 4 and all(e.patient_id == patient.pk for e in refused)
    restriction.refresh_from_db(using="owner")
    assert restriction.ended_on is None and len(stored()) == 1


def test_another_patients_id_in_the_url_is_not_found(staff, client_for, patient):
    restriction = RestrictionFactory(patient=patient)
    other = PatientFactory(first_name="Otherfake")
    url = f"/privacy/rights/patients/{other.pk}/restrictions/{restriction.pk}/"
    assert client_for(staff["privacy"]).get(url).status_code == 404
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == other.pk


def test_front_desk_sees_the_banner_of_active_ones_never_the_detail(staff, client_for, patient):
    client = client_for(staff["frontdesk"])
    summary = f"/patients/{patient.pk}/"
    assert BANNER not in client.get(summary).content.decode()
    RestrictionFactory(patient=patient, detail=DETAIL, decision=REFUSED)
    assert BANNER not in client.get(summary).content.decode()
    RestrictionFactory(patient=patient, detail=DETAIL)
    for url in (summary, f"/scheduling/patients/{patient.pk}/book/"):
        page = client.get(url).content.decode()
        assert BANNER in page, url
        assert "named family member" in page and "Sentinel-5c1f" not in page


def test_clinicians_see_it_where_they_see_the_patient(staff, client_for, patient):
    RestrictionFactory(patient=patient, detail=DETAIL, category=SELF_PAY)
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    client = client_for(staff["clinician"])
    for url in (
        f"/patients/{patient.pk}/",
        f"/chart/patients/{patient.pk}/",
        f"/patients/{patient.pk}/visits/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert BANNER in page and "paid out of pocket" in page, url
        assert "Sentinel-5c1f" not in page
    # A clinician outside the care team (no grant) sees neither the chart nor the restriction.
    page = client_for(staff["clinician2"]).get(f"/patients/{patient.pk}/").content.decode()
    assert BANNER not in page


def disclosure(**changes) -> dict:
    return {
        "disclosed_on": timezone.localdate().isoformat(),
        "recipient": "Test Fakeplan Health Insurance",
        "recipient_address": "1 Test Plaza",
        "description": "Testclaim for a visit",
        "purpose": "Test payment",
        "category": "treatment_payment_operations",
        **changes,
    }


def test_a_covered_disclosure_needs_the_explicit_confirmation(staff, client_for, patient):
    restriction = RestrictionFactory(patient=patient, category=SELF_PAY)
    client = client_for(staff["privacy"])
    url = f"/privacy/patients/{patient.pk}/disclosures/new/"
    assert "Restriction agreed:" in client.get(url).content.decode()
    page = client.post(url, disclosure()).content.decode()
    assert "falls under an agreed restriction" in page and "confirm below" in page
    assert not Disclosure.objects.using("owner").exists()
    assert events(access_log.DISCLOSURE_RECORDED) == []
    assert client.post(url, disclosure(confirm_restriction="on")).status_code == 302
    [saved] = Disclosure.objects.using("owner").all()
    [event] = events(access_log.RESTRICTION_OVERRIDDEN)
    assert event.patient_id == patient.pk and event.object_id == str(restriction.pk)
    assert event.reason == f"disclosure {saved.pk}"


def test_an_uncovered_disclosure_or_an_ended_restriction_needs_no_confirmation(
    staff, client_for, patient
):
    RestrictionFactory(patient=patient, category=SELF_PAY)
    client = client_for(staff["privacy"])
    url = f"/privacy/patients/{patient.pk}/disclosures/new/"
    # Public health (164.512(b)) is not limited by a restriction (164.522(a)(1)(v)).
    assert client.post(url, disclosure(category="public_health")).status_code == 302
    other = PatientFactory(first_name="Otherfake")
    RestrictionFactory(patient=other, category=SELF_PAY, ended_on=timezone.localdate(),
                       ended_by=staff["privacy"], ended_how="patient_written")  # fmt: skip
    other_url = f"/privacy/patients/{other.pk}/disclosures/new/"
    assert client.post(other_url, disclosure()).status_code == 302
    assert Disclosure.objects.using("owner").count() == 2
    assert events(access_log.RESTRICTION_OVERRIDDEN) == []
