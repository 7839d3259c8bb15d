"""Restrictions on uses and disclosures (45 CFR 164.522(a)).

A patient asks the clinic to restrict how their information is used or disclosed. The privacy
officer records the request (received on, the category it falls in, the scope in the patient's
words) with the clinic's decision: agreed or refused. One category the clinic must agree to:
not disclosing to a health plan, for payment or operations, services the patient paid for in
full out of pocket (164.522(a)(1)(vi)); refusing it is refused by the database too. An agreed
restriction ends (164.522(a)(2)) when the patient asks in writing or agrees orally (documented),
or when the clinic informs the patient (effective for information created afterwards; never for
the out-of-pocket restriction). Every write is checked by rights/db_restrictions.py.

The detail may name a person or a clinical fact: encrypted, read by the privacy officer only.
The front desk and the clinicians who may see the patient read the category of the active
(agreed, not ended) ones: what the banner shows (docs/rights.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from clinic.encryption import EncryptedCharField, EncryptedTextField
from patients.models import PatientIdentity

SELF_PAY, NAMED_PERSON, OTHER = "health_plan_self_pay", "named_person", "other"
CATEGORIES = [
    (
        SELF_PAY,
        "Disclosure to a health plan of services paid in full out of pocket — 164.522(a)(1)(vi)",
    ),
    (NAMED_PERSON, "Disclosure to a named family member or friend — 164.510(b)"),
    (OTHER, "Other use or disclosure"),
]
# The short label the banner shows.
BANNER_LABELS = {
    SELF_PAY: "no disclosure to the health plan of services paid out of pocket",
    NAMED_PERSON: "no disclosure to a named family member or friend",
    OTHER: "other use or disclosure (ask the privacy officer)",
}
AGREED, REFUSED = "agreed", "refused"
DECISIONS = [(AGREED, "Agreed"), (REFUSED, "Refused")]
PATIENT_WRITTEN, PATIENT_ORAL, CLINIC_INFORMED = (
    "patient_written",
    "patient_oral",
    "clinic_informed",
)
ENDED_HOW = [
    (PATIENT_WRITTEN, "The patient asked in writing — 164.522(a)(2)(i)"),
    (PATIENT_ORAL, "The patient agreed orally, documented here — 164.522(a)(2)(ii)"),
    (
        CLINIC_INFORMED,
        "The clinic informed the patient (for information created from now on) — "
        "164.522(a)(2)(iii); not for the out-of-pocket restriction",
    ),
]

# Which disclosure categories of the accounting (privacy/models.py) a restriction covers: the
# disclosures page warns before recording one of these for a patient with an active one.
# Disclosures required by law and the other 164.512 purposes are not limited by a restriction
# (164.522(a)(1)(v)); the out-of-pocket one concerns payment and operations only.
COVERS: dict[str, frozenset[str]] = {
    SELF_PAY: frozenset({"treatment_payment_operations", "other"}),
    NAMED_PERSON: frozenset({"facility_directory", "incidental", "other"}),
    OTHER: frozenset({"treatment_payment_operations", "facility_directory", "incidental", "other"}),
}
# What the front desk and clinicians may read (rights/db_restrictions.py grants these columns).
SHARED_COLUMNS = ("restriction_id", "patient_id", "category", "decision", "ended_on")


class RestrictionQuerySet(models.QuerySet["Restriction"]):
    def active(self) -> RestrictionQuerySet:
        return self.filter(decision=AGREED, ended_on__isnull=True)


class Restriction(models.Model):
    restriction_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    received_on = models.DateField()
    category = models.CharField(max_length=30, choices=CATEGORIES)
    detail = EncryptedTextField("What the restriction covers, in detail", max_length=2000)
    decision = models.CharField(max_length=10, choices=DECISIONS)
    decided_on = models.DateField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="decided_by_id",
        related_name="+",
    )  # fmt: skip
    ended_on = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        db_column="ended_by_id", related_name="+",
    )  # fmt: skip
    ended_how = models.CharField(max_length=20, choices=ENDED_HOW, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictionQuerySet.as_manager()

    class Meta:
        db_table = "restrictions"
        indexes = [models.Index(fields=["patient", "ended_on"], name="restrictions_patient")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=[SELF_PAY, NAMED_PERSON, OTHER]),
                name="restrictions_category",
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=[AGREED, REFUSED]), name="restrictions_decision"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | models.Q(decision=AGREED),
                name="restrictions_only_agreed_end",
            ),
        ]

    def __str__(self) -> str:
        return f"restriction {self.restriction_id}"

    @property
    def is_active(self) -> bool:
        return self.decision == AGREED and self.ended_on is None

    @property
    def banner_label(self) -> str:
        return BANNER_LABELS.get(self.category, self.category)


# --- Confidential communications, 164.522(b) --------------------------------------------------


class ConfidentialCommunication(models.Model):
    """The patient's request to be contacted by alternative means or at an alternative place
    (164.522(b)): an address and/or a phone (encrypted), and whether they replace the default
    contact. One in force per patient; recorded and ended by the privacy officer, the caller
    (rights/db_communications.py). The front desk reads the one in force and shows it in place
    of the default contact; a clinician who may see the patient learns only that one is in
    force (the default is hidden from both)."""

    communication_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    requested_on = models.DateField()
    alt_address = EncryptedTextField("Alternative address", max_length=500, blank=True)
    alt_phone = EncryptedCharField("Alternative phone", max_length=30, blank=True)
    use_instead = models.BooleanField("Use instead of the default contact", default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="recorded_by_id",
        related_name="+",
    )  # fmt: skip
    recorded_at = models.DateTimeField(auto_now_add=True)
    ended_on = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        db_column="ended_by_id", related_name="+",
    )  # fmt: skip

    class Meta:
        db_table = "confidential_communications"
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(ended_on__isnull=True),
                name="confidential_communications_one_in_force",
            ),
        ]

    def __str__(self) -> str:
        return f"confidential communications {self.communication_id}"
