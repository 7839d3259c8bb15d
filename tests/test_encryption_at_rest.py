"""What the database holds: ciphertext with a key id for every identifier, never plaintext."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from clinic.encryption import current_key_id, decrypt_value
from patients.models import PatientIdentity
from tests.factories import PatientFactory
from tests.patient_support import raw_patient_row

pytestmark = pytest.mark.usefixtures("clinic_db")
ENCRYPTED = ("first_name", "last_name", "date_of_birth", "ssn", "address", "phone", "email", "mrn")
PLAINTEXTS = {
    "first_name": "Alex",
    "last_name": "Testperson",
    "date_of_birth": "1980-04-30",
    "ssn": "900-00-0001",
    "address": "1 Example Street, Testville",
    "phone": "202-555-0100",
    "email": "alex@example.test",
}


def all_raw_text() -> str:
    from django.db import connections

    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT patient_identities::text FROM patient_identities")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_identifiers_are_stored_as_ciphertext_with_a_key_id(staff):
    patient = PatientFactory()
    row = raw_patient_row(patient.pk)
    for column in ENCRYPTED:
        stored = row[column]
        assert stored.startswith(f"v1:{current_key_id()}:"), column
        assert decrypt_value(stored, f"patient_identities.{column}")
    text = all_raw_text().lower()
    for value in [*PLAINTEXTS.values(), patient.mrn, "900000001", "2025550100"]:
        assert value.lower() not in text
    assert row["birth_year"] == 1980
    assert row["state"] == "MA"


def test_equal_values_give_different_ciphertexts_but_equal_blind_indexes(staff):
    first = raw_patient_row(PatientFactory(ssn="900-00-0001").pk)
    second = raw_patient_row(PatientFactory(ssn="").pk)
    for column in ("first_name", "last_name", "date_of_birth", "address", "phone", "email"):
        assert first[column] != second[column], column
    assert first["last_name_dob_bidx"] == second["last_name_dob_bidx"]
    assert first["phone_bidx"] == second["phone_bidx"]
    # A blank SSN is still a ciphertext (of ""), so its absence is not visible either.
    assert second["ssn_bidx"] is None and second["ssn"].startswith("v1:")


def test_blind_indexes_are_keyed_hashes_not_the_values(staff):
    row = raw_patient_row(PatientFactory().pk)
    for column in ("last_name_dob_bidx", "ssn_bidx", "mrn_bidx", "phone_bidx"):
        assert len(row[column]) == 32 and int(row[column], 16) >= 0
    assert "900000001" not in row["ssn_bidx"]


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(staff):
    from clinic.encryption import DecryptionError

    row = raw_patient_row(PatientFactory().pk)
    with pytest.raises(DecryptionError):
        decrypt_value(row["ssn"], "patient_identities.phone")


def test_registration_through_the_web_stores_only_ciphertext(client_for, staff):
    client_for(staff["frontdesk"]).post(
        reverse("patients:register"),
        {**PLAINTEXTS, "ssn": "900000001", "state": "MA", "phone": "(202) 555-0100"},
    )
    patient = PatientIdentity.objects.using("owner").get()
    assert patient.date_of_birth == date(1980, 4, 30)
    text = all_raw_text().lower()
    for value in [*PLAINTEXTS.values(), "900000001", "2025550100"]:
        assert value.lower() not in text
