"""Registering a patient: front desk only, validated input, duplicate SSN check, logged."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from patients.models import PatientIdentity
from tests.factories import TOMORROW, PatientFactory, at_run_time
from tests.patient_support import access_events, access_log_text, patient_count, raw_patient_row

pytestmark = pytest.mark.usefixtures("clinic_db")
URL = reverse("patients:register")
VALID = {
    "first_name": "Alex",
    "last_name": "Testperson",
    "date_of_birth": "1980-04-30",
    "ssn": "900000001",
    "address": "1 Example Street, Testville",
    "state": "MA",
    "phone": "(202) 555-0100",
    "email": "alex@example.test",
}


def post(client, **changes):
    return client.post(URL, {**VALID, **changes})


def test_front_desk_sees_the_registration_form(client_for, staff):
    response = client_for(staff["frontdesk"]).get(URL)
    assert response.status_code == 200
    assert b'name="date_of_birth"' in response.content
    assert b'<option value="MA">Massachusetts</option>' in response.content


def test_registration_saves_normalised_values_and_opens_the_summary(client_for, staff):
    response = post(client_for(staff["frontdesk"]))
    patient = PatientIdentity.objects.using("owner").get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", kwargs={"patient_id": patient.pk})
    assert patient.ssn == "900-00-0001"
    assert patient.phone == "202-555-0100"
    assert patient.date_of_birth == date(1980, 4, 30)
    assert patient.birth_year == 1980
    assert len(patient.mrn) == 9
    assert PatientIdentity.objects.using("owner").by_ssn("900000001").get() == patient
    events = access_events(access_log.PATIENT_REGISTERED)
    assert [(e["patient_id"], e["outcome"]) for e in events] == [(patient.pk, "ok")]


def test_registration_with_only_the_required_fields(client_for, staff):
    response = post(
        client_for(staff["frontdesk"]), ssn="", address="", state="", phone="", email=""
    )
    assert response.status_code == 302
    patient = PatientIdentity.objects.using("owner").get()
    assert patient.ssn_bidx is None and patient.phone_bidx is None


def _years_ago(years: int, days: int = 0) -> str:
    """`years` before the clinic's today (from 29 February, the 28th in a common year: the
    form's own rule), less `days`. Built at import, so it must not fail on 29 February."""
    today = timezone.localdate()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February, and that year has none
        then = today.replace(year=today.year - years, day=28)
    return (then - timedelta(days=days)).isoformat()


BAD_INPUT = [
    ("date_of_birth", "2021-02-30", "real date"),
    ("date_of_birth", "30/04/1980", "real date"),
    ("date_of_birth", TOMORROW, "future"),
    ("date_of_birth", _years_ago(131), "130 years"),
    ("date_of_birth", "", "required"),
    ("ssn", "900-00-001", "###-##-####"),
    ("ssn", "90000000A", "###-##-####"),
    ("ssn", "000-12-3456", "cannot be issued"),
    ("ssn", "666-12-3456", "cannot be issued"),
    ("ssn", "123-00-4567", "cannot be issued"),
    ("ssn", "123-45-0000", "cannot be issued"),
    ("phone", "555-0100", "10 digits"),
    ("phone", "202-555-01000", "10 digits"),
    ("phone", "202-555-O100", "10 digits"),
    ("phone", "102-555-0100", "not a valid US phone"),
    ("email", "not-an-email", "valid email"),
    ("first_name", "", "required"),
    ("first_name", "A" * 101, "at most 100"),
    ("last_name", "T" * 101, "at most 100"),
    ("last_name", "-- ..", "at least one letter"),
    ("address", "x" * 501, "at most 500"),
    ("state", "ZZ", "valid choice"),
    ("email", "a" * 250 + "@example.test", "at most 254"),
]


@pytest.mark.parametrize("field,value,message", BAD_INPUT)
def test_bad_input_shows_a_clear_message_and_saves_nothing(
    client_for, staff, field, value, message
):
    response = post(client_for(staff["frontdesk"]), **{field: at_run_time(value)})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message.lower() in " ".join(response.context["form"].errors[field]).lower()
    assert b"Nothing was saved" in response.content
    assert patient_count() == 0
    assert access_events(access_log.PATIENT_REGISTERED) == []


@pytest.mark.parametrize("field", list(VALID))
def test_nul_byte_in_any_field_is_refused(client_for, staff, field):
    response = post(client_for(staff["frontdesk"]), **{field: VALID[field][:3] + "\x00"})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert patient_count() == 0


def test_a_birth_date_of_today_and_of_almost_130_years_are_accepted(client_for, staff):
    client = client_for(staff["frontdesk"])
    assert post(client, date_of_birth=timezone.localdate().isoformat()).status_code == 302
    assert post(client, ssn="", date_of_birth=_years_ago(130, days=-1)).status_code == 302
    assert patient_count() == 2


def test_known_ssn_links_to_the_existing_patient_and_saves_nothing(client_for, staff):
    existing = PatientFactory(ssn="900-00-0001", first_name="Other")
    response = post(client_for(staff["frontdesk"]), ssn="900 00 0001".replace(" ", "-"))
    assert response.status_code == 200
    assert b"already registered" in response.content
    assert reverse("patients:detail", kwargs={"patient_id": existing.pk}).encode() in (
        response.content
    )
    assert patient_count() == 1
    events = access_events(access_log.PATIENT_REGISTERED)
    assert [(e["patient_id"], e["outcome"], e["reason"]) for e in events] == [
        (existing.pk, "duplicate", "ssn")
    ]


def test_registration_event_carries_no_identifiers(client_for, staff):
    post(client_for(staff["frontdesk"]))
    logged = access_log_text().lower()
    for value in ("testperson", "alex", "900-00-0001", "900000001", "1980-04-30", "example.test"):
        assert value not in logged


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_only_front_desk_may_register(client_for, staff, persona):
    client = client_for(staff[persona])
    assert client.get(URL).status_code == 403
    assert post(client).status_code == 403
    assert patient_count() == 0
    refusals = access_events(access_log.ACCESS_REFUSED)
    assert [(e["staff_id"], e["reason"]) for e in refusals] == [(staff[persona].pk, "role")] * 2


def test_administrative_sex_and_gender_identity_are_recorded(client_for, staff):
    """US Core: administrative sex (plaintext code, CHECKed) and an optional gender identity
    (encrypted: sensitive in itself); left empty, the sex is "unknown"."""
    client = client_for(staff["frontdesk"])
    assert b'name="administrative_sex"' in client.get(URL).content
    post(client, administrative_sex="female", gender_identity="non_binary")
    patient = PatientIdentity.objects.using("owner").get()
    assert (patient.administrative_sex, patient.gender_identity) == ("female", "non_binary")
    row = raw_patient_row(patient.pk)
    assert row["administrative_sex"] == "female"
    assert row["gender_identity"].startswith("v1:") and "non_binary" not in row["gender_identity"]
    post(client, ssn="900000002")
    second = PatientIdentity.objects.using("owner").exclude(pk=patient.pk).get()
    assert (second.administrative_sex, second.gender_identity) == ("unknown", "")


def test_an_unknown_sex_code_is_refused(client_for, staff):
    response = post(client_for(staff["frontdesk"]), administrative_sex="x")
    assert response.status_code == 200
    assert not PatientIdentity.objects.using("owner").exists()


def test_the_database_refuses_an_unknown_sex_code(staff):
    from django.db import DatabaseError

    from tests.db_helpers import request_cursor

    patient = PatientFactory()
    with (
        request_cursor(staff["frontdesk"]) as cursor,
        pytest.raises(DatabaseError, match="patient_identities_sex"),
    ):
        cursor.execute(
            "UPDATE patient_identities SET administrative_sex = 'x' WHERE patient_id = %s",
            [str(patient.pk)],
        )
