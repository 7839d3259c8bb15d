"""What an amendment request (164.526) may target, and the amendment entry an accepted request
adds to a chart entry or a demographic field.

A request targets exactly one item of its patient (a CHECK constraint of each table says so,
the write checks say it is the same patient's, rights/db_amendments.py), and its kind decides
who decides it:

- `note` (`record_id`, a signed visit note): its author (the signer);
- `problem`, `allergy`, `medication`, `vital_signs` (`problem_id`, `allergy_id`,
  `medication_id`, `vitals_id`): the clinician who recorded it; if that account is inactive,
  the patient's care-team clinician (docs/rights.md);
- `demographic` (`demographic_field`, a field name of `patient_identities`): the privacy
  officer (demographics are the front desk's registration data, not a clinician's entry).

Accepting a note's request appends a signed addendum to the note (records.VisitAddendum);
accepting any other adds an `AmendmentEntry` linked to the item: the amendment's text
(encrypted), its author and time. The item itself is never overwritten.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedTextField
from patients.models import PatientIdentity

NOTE = "note"
PROBLEM = "problem"
ALLERGY = "allergy"
MEDICATION = "medication"
VITALS = "vital_signs"
DEMOGRAPHIC = "demographic"
TARGET_KINDS = [
    (NOTE, "Visit note"),
    (PROBLEM, "Problem"),
    (ALLERGY, "Allergy"),
    (MEDICATION, "Medication"),
    (VITALS, "Vital signs"),
    (DEMOGRAPHIC, "Demographic field"),
]
CHART_KINDS = (PROBLEM, ALLERGY, MEDICATION, VITALS)
# Kind -> the column naming the target (the demographic kind names a field, not a row).
TARGET_COLUMNS = {
    NOTE: "record_id",
    PROBLEM: "problem_id",
    ALLERGY: "allergy_id",
    MEDICATION: "medication_id",
    VITALS: "vitals_id",
    DEMOGRAPHIC: "demographic_field",
}
# Chart kind -> (table, primary key): where the item lives.
CHART_TABLES = {
    PROBLEM: ("chart_problems", "problem_id"),
    ALLERGY: ("chart_allergies", "allergy_id"),
    MEDICATION: ("chart_medications", "medication_id"),
    VITALS: ("chart_vital_signs", "vitals_id"),
}
# The identity fields a patient may ask to amend (patients.models.DEMOGRAPHIC_FIELDS; the MRN
# is the clinic's own number, not the patient's information).
DEMOGRAPHIC_FIELDS = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("date_of_birth", "Date of birth"),
    ("administrative_sex", "Sex"),
    ("gender_identity", "Gender identity"),
    ("address", "Address"),
    ("state", "State"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("ssn", "SSN"),
]


def target_constraint(kinds: list[str], name: str) -> models.CheckConstraint:
    """Exactly one target, the one of its kind: its column set, every other one empty."""
    condition = models.Q()
    for kind in kinds:
        clause = models.Q(target_kind=kind)
        for other_kind, column in TARGET_COLUMNS.items():
            if other_kind not in kinds:
                continue
            field = column.removesuffix("_id") if column.endswith("_id") else column
            if column == "demographic_field":
                clause &= (
                    models.Q(demographic_field__in=[f for f, _label in DEMOGRAPHIC_FIELDS])
                    if other_kind == kind
                    else models.Q(demographic_field="")
                )
            else:
                clause &= models.Q(**{f"{field}__isnull": other_kind != kind})
        condition |= clause
    return models.CheckConstraint(condition=condition, name=name)


def _target(model: str, column: str) -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        model,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column=column,
        related_name="+",
    )


class AmendmentTargetFields(models.Model):
    """The target columns of a request and of an entry (kind, one item, or a field)."""

    # Database defaults too: a note's request written before targets existed (or by raw SQL
    # that names none) is a note's, with no demographic field.
    target_kind = models.CharField(
        max_length=20, choices=TARGET_KINDS, default=NOTE, db_default=NOTE
    )
    problem = _target("chart.Problem", "problem_id")
    allergy = _target("chart.Allergy", "allergy_id")
    medication = _target("chart.Medication", "medication_id")
    vitals = _target("chart.VitalSigns", "vitals_id")
    demographic_field = models.CharField(
        max_length=30, choices=DEMOGRAPHIC_FIELDS, blank=True, default="", db_default=""
    )

    class Meta:
        abstract = True

    @property
    def target_id(self) -> str:
        """The target's id (a field name for a demographic field)."""
        value = getattr(self, TARGET_COLUMNS[self.target_kind])
        return str(value) if value is not None else ""

    @property
    def target_label(self) -> str:
        if self.target_kind == DEMOGRAPHIC:
            return f"Demographic field: {self.get_demographic_field_display()}"  # type: ignore[attr-defined]
        return str(self.get_target_kind_display())  # type: ignore[attr-defined]


class AmendmentEntry(AmendmentTargetFields):
    """An accepted amendment of a chart entry or a demographic field (164.526(c)(1)): linked to
    the item (the same target columns as its request), written by the person who decided, now;
    append-only. Shown wherever the item is shown and carried in every export of it."""

    entry_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    amendment = models.OneToOneField(
        "rights.AmendmentRequest",
        on_delete=models.PROTECT,
        db_column="amendment_id",
        related_name="+",
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="author_id", related_name="+"
    )
    text = EncryptedTextField("The amendment", max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "amendment_entries"
        indexes = [
            models.Index(fields=["patient", "target_kind"], name="amendment_entries_patient"),
        ]
        constraints = [
            target_constraint(
                [k for k, _label in TARGET_KINDS if k != NOTE], "amendment_entry_target"
            ),
        ]

    def __str__(self) -> str:
        return f"amendment entry {self.entry_id}"
