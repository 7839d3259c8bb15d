"""Accounting of disclosures (45 CFR 164.528): what was disclosed, to whom, when and why.

Recipient, description and purpose may name people or clinical facts, so they are encrypted.
The accounting a patient may request covers six years and leaves out the categories that
164.528(a)(1) excludes (EXCLUDED_CATEGORIES); they are still recorded here for completeness.

Temporary suspension, 164.528(a)(2): a health oversight agency or law enforcement official may
state that an accounting to the individual would impede its activities. The privacy officer
records the statement on the disclosure (who made it, written or oral, its date, until when);
while it is in force the disclosure is left out of the accounting. An oral statement suspends
for at most 30 days from the statement unless a written one follows (recorded over it).
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedCharField, EncryptedTextField

ACCOUNTABLE = [
    ("required_by_law", "Required by law — 164.512(a)"),
    ("public_health", "Public health activities — 164.512(b)"),
    ("abuse_neglect", "Victims of abuse, neglect or domestic violence — 164.512(c)"),
    ("health_oversight", "Health oversight — 164.512(d)"),
    ("judicial", "Judicial or administrative proceedings — 164.512(e)"),
    ("law_enforcement", "Law enforcement purposes — 164.512(f)"),
    ("decedents", "Coroners, medical examiners, funeral directors — 164.512(g)"),
    ("organ_donation", "Organ, eye or tissue donation — 164.512(h)"),
    ("research", "Research without authorization — 164.512(i)"),
    ("serious_threat", "Averting a serious threat to health or safety — 164.512(j)"),
    ("workers_compensation", "Workers' compensation — 164.512(l)"),
    ("other", "Other disclosure not excluded from the accounting"),
]
# 164.528(a)(1)(i)-(viii): recorded, but not part of the accounting given to the individual.
EXCLUDED = [
    ("treatment_payment_operations", "Treatment, payment or health care operations (excluded)"),
    ("to_individual", "To the individual (excluded)"),
    ("incidental", "Incident to a permitted use or disclosure (excluded)"),
    ("authorization", "Pursuant to the individual's authorization (excluded)"),
    ("facility_directory", "Facility directory or persons involved in care (excluded)"),
    ("national_security", "National security or intelligence (excluded)"),
    ("correctional_custody", "Correctional institution or law enforcement custody (excluded)"),
    ("limited_data_set", "Part of a limited data set (excluded)"),
]
CATEGORIES = ACCOUNTABLE + EXCLUDED
EXCLUDED_CATEGORIES = frozenset(code for code, _label in EXCLUDED)
ACCOUNTING_YEARS = 6
# 164.528(a)(2): only disclosures to these may be suspended.
SUSPENDABLE_CATEGORIES = frozenset({"health_oversight", "law_enforcement"})
ORAL_SUSPENSION_DAYS = 30
WRITTEN, ORAL = "written", "oral"
STATEMENT_KINDS = [(WRITTEN, "Written statement"), (ORAL, "Oral statement (at most 30 days)")]


def accounting_period_start(today: date | None = None) -> date:
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year - ACCOUNTING_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ACCOUNTING_YEARS, day=28)


class DisclosureQuerySet(models.QuerySet["Disclosure"]):
    def accounting_for(
        self, patient_id: uuid.UUID, today: date | None = None
    ) -> DisclosureQuerySet:
        """What the patient is entitled to see: six years, excluded categories left out."""
        today = today or timezone.localdate()
        return (
            self.filter(patient_id=patient_id, disclosed_on__gte=accounting_period_start(today))
            .exclude(category__in=EXCLUDED_CATEGORIES)
            .exclude(suspended_until__gte=today)  # 164.528(a)(2), while in force
            .order_by("-disclosed_on", "-recorded_at")
        )


class Disclosure(models.Model):
    disclosure_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        "patients.PatientIdentity",
        on_delete=models.PROTECT,
        db_column="patient_id",
        related_name="+",
    )
    disclosed_on = models.DateField()
    recipient = EncryptedCharField(max_length=300)
    recipient_address = EncryptedTextField(max_length=500, blank=True)
    description = EncryptedTextField("PHI disclosed", max_length=2000)
    purpose = EncryptedTextField(max_length=2000)
    category = models.CharField(max_length=40, choices=CATEGORIES)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="recorded_by_id",
        related_name="+",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # 164.528(a)(2) temporary suspension (blank: none). The statement names an agency or official
    # and may describe an investigation: encrypted.
    suspended_until = models.DateField(null=True, blank=True)
    suspension_kind = models.CharField(max_length=10, choices=STATEMENT_KINDS, blank=True)
    suspension_stated_on = models.DateField(null=True, blank=True)
    suspension_statement = EncryptedTextField(max_length=2000, blank=True)
    suspension_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="suspension_recorded_by_id",
        related_name="+",
    )

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        db_table = "disclosures"
        indexes = [models.Index(fields=["patient", "disclosed_on"], name="disclosures_patient")]

    def __str__(self) -> str:
        return f"disclosure {self.disclosure_id}"

    @property
    def is_excluded(self) -> bool:
        return self.category in EXCLUDED_CATEGORIES

    @property
    def may_be_suspended(self) -> bool:
        return self.category in SUSPENDABLE_CATEGORIES

    def is_suspended(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.suspended_until is not None and self.suspended_until >= today
