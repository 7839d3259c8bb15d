"""Patient identities: direct identifiers encrypted at field level, searchable by blind index.

Only `birth_year`, `state` and the timestamps are plaintext (de-identified uses need them). The
blind-index columns hold keyed HMACs of normalised values (clinic/blind_index.py), the only way to
search encrypted values. The clinical side links here by `patient_id` alone.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import models

from clinic.blind_index import blind_index, last_name_dob_index
from clinic.encryption import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedTextField,
)


def generate_mrn() -> str:
    """A clinic-issued medical record number: 8 random digits and a Luhn check digit."""
    return mrn_from_number(secrets.randbelow(10**8))


def mrn_from_number(number: int) -> str:
    """The MRN for an 8-digit body (0 <= number < 10**8): the body plus its Luhn check digit."""
    body = f"{number:08d}"
    return f"{body}{luhn_check_digit(body)}"


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit of a string of digits (catches one mistyped digit or a swap)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


# What registration and the demographics edit may set (one list for the form and the service).
DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "ssn",
    "address",
    "state",
    "phone",
    "email",
    "administrative_sex",
    "gender_identity",
)

# US Core administrative gender (FHIR `Patient.gender`): the value set, in its codes.
ADMINISTRATIVE_SEXES = [
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Other"),
    ("unknown", "Unknown"),
]
# US Core gender identity extension (its SNOMED CT / HL7 null-flavour codes, by meaning).
GENDER_IDENTITIES = [
    ("", "— not recorded —"),
    ("female", "Identifies as female"),
    ("male", "Identifies as male"),
    ("non_binary", "Identifies as non-binary"),
    ("other", "Other"),
    ("asked_declined", "Asked but declined"),
    ("unknown", "Unknown"),
]


def mask_ssn(ssn: str) -> str:
    """An SSN as shown by default: ***-**-6789 (DESIGN.md section 4); a dash when there is none."""
    return f"***-**-{ssn[-4:]}" if ssn else "—"


def mask_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return f"(***) ***-{digits[-4:]}" if digits else "—"


# What each page shows of a patient (issue #20 item 4: decrypt only what is displayed). Every
# encrypted column is decrypted when its row is read, so a page reads only these; a field it
# then touches anyway is fetched (and decrypted) by one more query, which the page-cost tests
# (tests/test_page_costs.py) would catch.
SHOWN_IN_HEADER = ("patient_id", "first_name", "last_name", "mrn")
SHOWN_IN_SEARCH = (*SHOWN_IN_HEADER, "ssn", "phone", "birth_year", "state")
SHOWN_IN_SUMMARY = (*SHOWN_IN_SEARCH, "gender_identity", "administrative_sex")
# The visit form also checks a visit date against the (plaintext) birth year.
SHOWN_IN_VISIT_FORM = (*SHOWN_IN_HEADER, "birth_year")
# A list that names the patient only (the clinician's unsigned notes).
SHOWN_AS_NAME = ("patient_id", "first_name", "last_name")


def not_shown_through(relation: str, shown: tuple[str, ...]) -> list[str]:
    """For `.select_related(relation).defer(...)` on a model that points to the patient: every
    field of the patient not in `shown` (one of the SHOWN_* tuples), as `relation__field`. The
    twin of `PatientQuerySet.shown` for a patient read through a relation."""
    return [
        f"{relation}__{field.name}"
        for field in PatientIdentity._meta.concrete_fields
        if field.name not in shown
    ]


class PatientQuerySet(models.QuerySet["PatientIdentity"]):
    def shown(self, fields: tuple[str, ...] | None) -> PatientQuerySet:
        """Only `fields` (one of the SHOWN_IN_* tuples), or every field for None."""
        return self.only(*fields) if fields else self

    def by_last_name_and_dob(self, last_name: str, dob: Any) -> PatientQuerySet:
        return self.filter(last_name_dob_bidx=last_name_dob_index(last_name, dob))

    def by_ssn(self, ssn: str) -> PatientQuerySet:
        return self.filter(ssn_bidx=blind_index("ssn", ssn))

    def by_mrn(self, mrn: str) -> PatientQuerySet:
        return self.filter(mrn_bidx=blind_index("mrn", mrn))

    def by_phone(self, phone: str) -> PatientQuerySet:
        return self.filter(phone_bidx=blind_index("phone", phone))


class PatientIdentity(models.Model):
    patient_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = EncryptedCharField(max_length=100)
    last_name = EncryptedCharField(max_length=100)
    date_of_birth = EncryptedDateField()
    ssn = EncryptedCharField("SSN", max_length=11, blank=True)
    address = EncryptedTextField(max_length=500, blank=True)
    phone = EncryptedCharField(max_length=30, blank=True)
    email = EncryptedEmailField(max_length=254, blank=True)
    mrn = EncryptedCharField("MRN", max_length=20, editable=False)
    # Sensitive in itself (a gender identity other than the sex recorded): encrypted.
    gender_identity = EncryptedCharField(max_length=20, blank=True, choices=GENDER_IDENTITIES)
    # Plaintext, de-identified by themselves (sex is no Safe Harbor identifier; its codes are
    # a CHECK constraint, patients/db_checks.py).
    administrative_sex = models.CharField(
        max_length=7, choices=ADMINISTRATIVE_SEXES, default="unknown"
    )
    birth_year = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Blind indexes (HMAC-SHA256, truncated): exact-match search without decrypting.
    last_name_dob_bidx = models.CharField(max_length=32, db_index=True, editable=False)
    ssn_bidx = models.CharField(max_length=32, null=True, db_index=True, editable=False)
    mrn_bidx = models.CharField(max_length=32, unique=True, editable=False)
    phone_bidx = models.CharField(max_length=32, null=True, db_index=True, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        db_table = "patient_identities"
        verbose_name = "patient"

    def __str__(self) -> str:
        # Never the name: this string can reach logs, admin history and error reports.
        return f"patient {self.patient_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_derived_fields()
        super().save(*args, **kwargs)

    def refresh_derived_fields(self) -> None:
        """Blind indexes and plaintext year follow the encrypted values they derive from."""
        if not self.mrn:
            self.mrn = generate_mrn()
        self.birth_year = self.date_of_birth.year
        self.last_name_dob_bidx = last_name_dob_index(self.last_name, self.date_of_birth)
        self.ssn_bidx = blind_index("ssn", self.ssn) if self.ssn else None
        self.mrn_bidx = blind_index("mrn", self.mrn)
        self.phone_bidx = blind_index("phone", self.phone) if self.phone else None

    @property
    def masked_ssn(self) -> str:
        return mask_ssn(self.ssn)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)
