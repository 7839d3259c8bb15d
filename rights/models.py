"""Patients' rights (45 CFR 164.524, the right of access): a request for one's own record.

A request is received on a date (the clinic's), in some way, by a privacy officer who verifies
the requester's identity and records the request; it is due 30 days later, may be extended once
by 30 days with a written reason before it falls due, and ends fulfilled, partially fulfilled or
denied (with the ground). The exports produced for it (rights/export_fhir.py,
rights/export_pdf.py) leave their SHA-256 here; the hand-over is also a disclosure to the
individual (privacy/models.py).

What is asked for, the reason for an extension and the note on the outcome are free text that
may name clinical facts: encrypted. The database checks every write (rights/db_checks.py).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedTextField
from patients.models import PatientIdentity
from rights.amendment_models import (
    DEMOGRAPHIC,
    TARGET_KINDS,
    AmendmentTargetFields,
    target_constraint,
)

RESPONSE_DAYS = 30  # 164.524(b)(2)(i)
EXTENSION_DAYS = 30  # 164.524(b)(2)(ii), once

IN_PERSON, MAIL, EMAIL, FAX, PHONE = "in_person", "mail", "email", "fax", "phone"
RECEIVED_HOW = [
    (IN_PERSON, "In person, in writing"),
    (MAIL, "By mail"),
    (EMAIL, "By email"),
    (FAX, "By fax"),
    (PHONE, "By phone (confirmed in writing)"),
]
VERIFIED_HOW = [
    ("photo_id", "Government photo ID seen"),
    ("known_to_staff", "Known to staff, identity confirmed against the record"),
    ("signature_match", "Signed request matched to the signature on file"),
    ("callback", "Call-back to the phone number on file"),
    ("notarized", "Notarized request"),
]
PDF, FHIR, BOTH = "pdf", "fhir", "both"
FORMATS = [(PDF, "PDF (readable)"), (FHIR, "FHIR R4 JSON (electronic)"), (BOTH, "Both")]
DELIVERY = [
    ("pickup", "Picked up in person"),
    ("mail", "Mailed (paper or encrypted media)"),
    ("secure_email", "Secure email"),
    ("encrypted_media", "Encrypted USB or disc, in person"),
]
OPEN, FULFILLED, PARTIAL, DENIED = "open", "fulfilled", "partial", "denied"
OUTCOMES = [
    (OPEN, "Open"),
    (FULFILLED, "Fulfilled"),
    (PARTIAL, "Partially fulfilled (part denied)"),
    (DENIED, "Denied"),
]
# 164.524(a)(2) unreviewable and (a)(3) reviewable grounds for denial.
DENIAL_GROUNDS = [
    ("psychotherapy_notes", "Psychotherapy notes — 164.524(a)(1)(i)"),
    ("litigation", "Compiled for a legal proceeding — 164.524(a)(1)(ii)"),
    ("correctional", "Inmate request endangering safety — 164.524(a)(2)(ii)"),
    ("research", "Research in progress, agreed suspension — 164.524(a)(2)(iii)"),
    ("privacy_act", "Privacy Act records — 164.524(a)(2)(iv)"),
    ("confidential_source", "Obtained from a confidential source — 164.524(a)(2)(v)"),
    ("endangerment", "Likely to endanger life or safety (reviewable) — 164.524(a)(3)(i)"),
    ("other_person", "Harm to another person named (reviewable) — 164.524(a)(3)(ii)"),
    ("representative", "Personal representative, harm (reviewable) — 164.524(a)(3)(iii)"),
]


def due_date(received_on: date) -> date:
    return received_on + timedelta(days=RESPONSE_DAYS)


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def open_by_due_date(self) -> AccessRequestQuerySet:
        return self.filter(outcome=OPEN).order_by("due_on", "received_on", "recorded_at")


class AccessRequest(models.Model):
    request_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    received_on = models.DateField()
    received_how = models.CharField(max_length=20, choices=RECEIVED_HOW)
    # The privacy officer who verified the requester's identity and recorded the request.
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="verified_by_id",
        related_name="+",
    )
    verified_how = models.CharField(max_length=20, choices=VERIFIED_HOW)
    requested = EncryptedTextField("What is asked for", max_length=2000)
    format = models.CharField(max_length=10, choices=FORMATS)
    delivery = models.CharField("Delivery channel", max_length=20, choices=DELIVERY)
    due_on = models.DateField()
    extended_on = models.DateField(null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="extended_by_id",
        related_name="+",
    )
    extension_reason = EncryptedTextField(max_length=2000, null=True, blank=True)
    pdf_sha256 = models.CharField("SHA-256 of the PDF", max_length=64, blank=True)
    fhir_sha256 = models.CharField("SHA-256 of the FHIR Bundle", max_length=64, blank=True)
    handed_over_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES, default=OPEN)
    denial_ground = models.CharField(max_length=30, choices=DENIAL_GROUNDS, blank=True)
    outcome_note = EncryptedTextField(max_length=2000, null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="closed_by_id",
        related_name="+",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        db_table = "access_requests"
        indexes = [
            models.Index(fields=["patient", "outcome"], name="access_requests_patient_open"),
            models.Index(fields=["outcome", "due_on"], name="access_requests_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pdf_sha256="") | models.Q(pdf_sha256__regex=r"^[0-9a-f]{64}$"),
                name="access_requests_pdf_sha256",
            ),
            models.CheckConstraint(
                condition=models.Q(fhir_sha256="") | models.Q(fhir_sha256__regex=r"^[0-9a-f]{64}$"),
                name="access_requests_fhir_sha256",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome=OPEN, closed_on__isnull=True)
                | (~models.Q(outcome=OPEN) & models.Q(closed_on__isnull=False)),
                name="access_requests_closed_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"access request {self.request_id}"

    @property
    def is_open(self) -> bool:
        return self.outcome == OPEN

    def is_overdue(self, today: date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())

    @property
    def may_extend(self) -> bool:
        return self.is_open and self.extended_on is None

    def wants(self, export_format: str) -> bool:
        return self.format in (export_format, BOTH)


# --- Amendment, 45 CFR 164.526 ----------------------------------------------------------------

AMENDMENT_DAYS = 60  # 164.526(b)(2)(i)
AMENDMENT_EXTENSION_DAYS = 30  # 164.526(b)(2)(ii), once
ACCEPTED = "accepted"
AMENDMENT_OUTCOMES = [(OPEN, "Open"), (ACCEPTED, "Accepted (amended)"), (DENIED, "Denied")]
# 164.526(a)(2): the grounds on which a covered entity may deny an amendment.
AMENDMENT_DENIAL_GROUNDS = [
    ("not_created", "Not created by the clinic — 164.526(a)(2)(i)"),
    ("not_in_record_set", "Not part of the designated record set — 164.526(a)(2)(ii)"),
    ("not_accessible", "Not available for inspection under 164.524 — 164.526(a)(2)(iii)"),
    ("accurate", "Accurate and complete — 164.526(a)(2)(iv)"),
]


def amendment_due_date(received_on: date) -> date:
    return received_on + timedelta(days=AMENDMENT_DAYS)


class AmendmentRequestQuerySet(models.QuerySet["AmendmentRequest"]):
    def open_by_due_date(self) -> AmendmentRequestQuerySet:
        return self.filter(outcome=OPEN).order_by("due_on", "received_on", "recorded_at")


class AmendmentRequest(AmendmentTargetFields):
    """A patient's request to amend an item of their record (164.526): a signed visit note, a
    chart entry or a demographic field (rights/amendment_models.py). Recorded by the privacy
    officer, routed to whoever decides (the note's author, the entry's recorder, or for a
    demographic field the privacy officer: `routed_to` empty), who accepts it (an addendum or an
    amendment entry is linked to the item, which is never overwritten; whom to notify is
    recorded) or denies it with a ground and a written reason; after a denial the patient's
    statement of disagreement and the clinic's rebuttal are attached, and every later export of
    the item carries them. Due 60 days after receipt, one 30-day extension. The database checks
    every write (rights/db_amendments.py)."""

    amendment_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    record = models.ForeignKey(
        "records.ClinicalRecord", on_delete=models.PROTECT, null=True, blank=True,
        db_column="record_id", related_name="+",
    )  # fmt: skip
    received_on = models.DateField()
    received_how = models.CharField(max_length=20, choices=RECEIVED_HOW)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="recorded_by_id",
        related_name="+",
    )  # fmt: skip
    requested = EncryptedTextField("What the patient asks to change, and why", max_length=4000)
    # Who decides: the note's author, the chart entry's recorder (or the care-team clinician);
    # empty for a demographic field, which the privacy officer decides.
    routed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        db_column="routed_to_id", related_name="+",
    )  # fmt: skip
    due_on = models.DateField()
    extended_on = models.DateField(null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        db_column="extended_by_id", related_name="+",
    )  # fmt: skip
    extension_reason = EncryptedTextField(max_length=2000, null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=AMENDMENT_OUTCOMES, default=OPEN)
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        db_column="decided_by_id", related_name="+",
    )  # fmt: skip
    addendum = models.ForeignKey(
        "records.VisitAddendum", on_delete=models.PROTECT, null=True, blank=True,
        db_column="addendum_id", related_name="+",
    )  # fmt: skip
    notify = EncryptedTextField(
        "Whom to notify of the amendment", max_length=2000, null=True, blank=True
    )
    denial_ground = models.CharField(max_length=30, choices=AMENDMENT_DENIAL_GROUNDS, blank=True)
    denial_reason = EncryptedTextField(max_length=4000, null=True, blank=True)
    disagreement = EncryptedTextField(
        "The patient's statement of disagreement", max_length=4000, null=True, blank=True
    )
    disagreement_on = models.DateField(null=True, blank=True)
    rebuttal = EncryptedTextField("The clinic's rebuttal", max_length=4000, null=True, blank=True)
    rebuttal_on = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = AmendmentRequestQuerySet.as_manager()

    class Meta:
        db_table = "amendment_requests"
        indexes = [
            models.Index(fields=["outcome", "due_on"], name="amendment_requests_due"),
            models.Index(fields=["routed_to", "outcome"], name="amendment_requests_routed"),
            models.Index(fields=["record"], name="amendment_requests_record"),
            models.Index(fields=["patient", "outcome"], name="amendment_requests_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=[OPEN, ACCEPTED, DENIED]),
                name="amendment_requests_outcome",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome=OPEN, decided_on__isnull=True)
                | (~models.Q(outcome=OPEN) & models.Q(decided_on__isnull=False)),
                name="amendment_requests_decided_when_closed",
            ),
            target_constraint([kind for kind, _label in TARGET_KINDS], "amendment_request_target"),
            models.CheckConstraint(
                condition=models.Q(target_kind=DEMOGRAPHIC, routed_to__isnull=True)
                | (~models.Q(target_kind=DEMOGRAPHIC) & models.Q(routed_to__isnull=False)),
                name="amendment_request_routed",
            ),
        ]

    def __str__(self) -> str:
        return f"amendment request {self.amendment_id}"

    @property
    def is_open(self) -> bool:
        return self.outcome == OPEN

    def is_overdue(self, today: date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())

    @property
    def may_extend(self) -> bool:
        return self.is_open and self.extended_on is None


# Restrictions, 45 CFR 164.522(a) (their own module; imported here so Django finds the model).
# The amendment entry of an accepted request for a chart entry or a demographic field.
from rights.amendment_models import AmendmentEntry  # noqa: E402, F401
from rights.restriction_models import ConfidentialCommunication, Restriction  # noqa: E402, F401
