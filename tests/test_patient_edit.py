"""Demographics edit: front desk only, same validation, blind indexes follow the values."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.urls import reverse

from clinic import access_log
from patients.models import PatientIdentity
from patients.services import patient_update_demographics
from tests.factories import PatientFactory
from tests.patient_support import access_events, access_log_text, raw_patient_row

pytestmark = pytest.mark.usefixtures("clinic_db")
FORM = {
    "first_name": "Alex",
    "last_name": "Testperson",
    "date_of_birth": "1980-04-30",
    "ssn": "900-00-0001",
    "address": "1 Example Street, Testville",
    "state": "MA",
    "phone": "202-555-0100",
    "email": "alex@example.test",
}


def edit_url(patient_id) -> str:
    return reverse("patients:edit", kwargs={"patient_id": patient_id})


def owner_patients():
    return PatientIdentity.objects.using("owner")


def test_front_desk_sees_the_form_filled_in(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).get(edit_url(patient.pk))
    assert response.status_code == 200
    assert b'value="Testperson"' in response.content
    assert b'value="1980-04-30"' in response.content


def test_edit_saves_refreshes_blind_indexes_and_logs_field_names(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).post(
        edit_url(patient.pk),
        {**FORM, "last_name": "Newname", "ssn": "900-00-0009", "phone": "202-555-0109"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", kwargs={"patient_id": patient.pk})
    assert owner_patients().by_ssn("900-00-0009").get() == patient
    assert not owner_patients().by_ssn("900-00-0001").exists()
    assert owner_patients().by_phone("2025550109").get() == patient
    assert not owner_patients().by_phone("2025550100").exists()
    assert owner_patients().by_last_name_and_dob("newname", date(1980, 4, 30)).get() == patient
    assert not owner_patients().by_last_name_and_dob("Testperson", date(1980, 4, 30)).exists()
    assert owner_patients().by_mrn(patient.mrn).get() == patient
    events = access_events(access_log.DEMOGRAPHICS_CHANGED)
    assert [(e["patient_id"], e["reason"]) for e in events] == [(patient.pk, "last_name,ssn,phone")]
    assert "newname" not in access_log_text().lower()


def test_birth_date_change_updates_the_plaintext_year(client_for, staff, patient):
    client_for(staff["frontdesk"]).post(
        edit_url(patient.pk), {**FORM, "date_of_birth": "1990-01-01"}
    )
    assert raw_patient_row(patient.pk)["birth_year"] == 1990


def test_saving_without_changes_is_logged_as_unchanged(client_for, staff, patient):
    before = raw_patient_row(patient.pk)
    client_for(staff["frontdesk"]).post(edit_url(patient.pk), FORM)
    assert raw_patient_row(patient.pk) == before
    events = access_events(access_log.DEMOGRAPHICS_CHANGED)
    assert [(e["outcome"], e["reason"]) for e in events] == [("unchanged", "")]


@pytest.mark.parametrize(
    "field,value",
    [
        ("date_of_birth", "1980-02-30"),
        ("date_of_birth", "2999-01-01"),
        ("date_of_birth", "1850-01-01"),
        ("ssn", "12-345"),
        ("phone", "12345"),
        ("email", "nope"),
        ("first_name", "A" * 101),
        ("address", "Street\x00"),
        ("last_name", "Test\x00person"),
    ],
)
def test_bad_input_changes_nothing(client_for, staff, patient, field, value):
    before = raw_patient_row(patient.pk)
    response = client_for(staff["frontdesk"]).post(edit_url(patient.pk), {**FORM, field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert raw_patient_row(patient.pk) == before
    assert access_events(access_log.DEMOGRAPHICS_CHANGED) == []


def test_ssn_of_another_patient_is_refused_with_a_link(client_for, staff, patient):
    other = PatientFactory(ssn="900-00-0002", first_name="Other")
    before = raw_patient_row(patient.pk)
    response = client_for(staff["frontdesk"]).post(
        edit_url(patient.pk), {**FORM, "ssn": "900000002"}
    )
    assert response.status_code == 200
    assert b"already registered" in response.content
    assert reverse("patients:detail", kwargs={"patient_id": other.pk}).encode() in (
        response.content
    )
    assert raw_patient_row(patient.pk) == before


def test_two_saves_from_the_same_stale_form_leave_consistent_indexes(staff, patient):
    """Both editors loaded the same row; the last save wins whole, indexes match it."""
    base = {k: v for k, v in FORM.items() if k != "date_of_birth"}
    first = {**base, "date_of_birth": date(1980, 4, 30), "ssn": "900-00-0007", "phone": ""}
    second = {**base, "date_of_birth": date(1980, 4, 30), "last_name": "Later"}
    patient_update_demographics(patient_id=patient.pk, demographics=first, using="owner")
    patient_update_demographics(patient_id=patient.pk, demographics=second, using="owner")
    saved = owner_patients().get(pk=patient.pk)
    assert (saved.ssn, saved.last_name, saved.phone) == ("900-00-0001", "Later", "202-555-0100")
    row = raw_patient_row(patient.pk)
    saved.refresh_derived_fields()
    assert row["ssn_bidx"] == saved.ssn_bidx
    assert row["phone_bidx"] == saved.phone_bidx
    assert row["last_name_dob_bidx"] == saved.last_name_dob_bidx
    assert not owner_patients().by_ssn("900-00-0007").exists()


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_only_front_desk_may_edit(client_for, staff, patient, persona):
    before = raw_patient_row(patient.pk)
    client = client_for(staff[persona])
    assert client.get(edit_url(patient.pk)).status_code == 403
    assert client.post(edit_url(patient.pk), {**FORM, "last_name": "Changed"}).status_code == 403
    assert raw_patient_row(patient.pk) == before
    refusals = access_events(access_log.ACCESS_REFUSED)
    assert [(e["patient_id"], e["reason"]) for e in refusals] == [(patient.pk, "role")] * 2


def test_unknown_patient_edit_is_not_found(client_for, staff):
    missing = uuid.uuid4()
    assert client_for(staff["frontdesk"]).get(edit_url(missing)).status_code == 404
    assert [e["reason"] for e in access_events(access_log.ACCESS_REFUSED)] == ["not found"]


def test_opening_the_form_is_a_logged_reveal(client_for, staff, patient):
    """The form shows the full SSN, date of birth and phone the summary masks."""
    page = client_for(staff["frontdesk"]).get(edit_url(patient.pk))
    assert b"900-00-0001" in page.content  # the identifier really is on the page
    events = access_events(access_log.IDENTIFIER_REVEALED)
    assert [(e["patient_id"], e["reason"], e["staff_id"]) for e in events] == [
        (patient.pk, "demographics_form", staff["frontdesk"].pk)
    ]
