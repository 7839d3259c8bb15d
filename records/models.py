"""Clinical records, care teams and break-the-glass grants.

`clinical_records` links to an identity by `patient_id` only. Row-level security (records/
db_grants.py) lets a clinician see a record when the patient is on their care team or they hold
an active break-the-glass grant; both tables are read by the policy, so they are indexed on
(staff, patient).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedTextField
from patients.models import PatientIdentity
from records.icd10 import validate_icd10_code


class ClinicalRecordQuerySet(models.QuerySet["ClinicalRecord"]):
    def for_patient(self, patient: PatientIdentity) -> ClinicalRecordQuerySet:
        return self.filter(patient=patient).order_by("-visit_date", "-created_at")


class ClinicalRecord(models.Model):
    record_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="records"
    )
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="provider_id",
        related_name="+",
    )
    diagnosis_code = models.CharField(max_length=8, validators=[validate_icd10_code])
    notes = EncryptedTextField(max_length=20000, blank=True)
    visit_date = models.DateField()
    # Optimistic locking: an UPDATE must name the version it read (records/services.py).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Signed by its author (the provider); from then on the database refuses any change to the
    # row (records/db_checks.py) and corrections are addenda (docs/notes.md).
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="signed_by_id",
        related_name="+",
    )
    # Who wrote the visit last: the database sets it to the verified caller on every write
    # (records/db_checks.py), whatever the statement says. Empty for rows the owner loaded.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="changed_by_id",
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )

    objects = ClinicalRecordQuerySet.as_manager()

    class Meta:
        db_table = "clinical_records"
        indexes = [
            models.Index(fields=["patient", "visit_date"], name="clinical_rec_patient_date"),
            models.Index(fields=["visit_date"], name="clinical_rec_visit_date"),
            models.Index(fields=["provider"], name="clinical_rec_provider"),
            # The author's unsigned notes (records/unsigned.py): only unsigned rows are indexed.
            models.Index(
                fields=["provider", "visit_date"],
                condition=models.Q(signed_at__isnull=True),
                name="clinical_rec_unsigned",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signed_at__isnull=True, signed_by__isnull=True)
                | models.Q(signed_at__isnull=False, signed_by__isnull=False),
                name="clinical_rec_signed_by_and_at",
            )
        ]

    def __str__(self) -> str:
        return f"record {self.record_id}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def last_changed_by(self) -> Any:
        """Who saved the visit last (its provider for a row loaded without one)."""
        return self.changed_by if self.changed_by_id else self.provider


class VisitAddendumQuerySet(models.QuerySet["VisitAddendum"]):
    def for_record(self, record: ClinicalRecord) -> VisitAddendumQuerySet:
        return self.filter(record=record).order_by("created_at", "addendum_id")


class VisitAddendum(models.Model):
    """A correction or addition to a signed visit note: append-only (the clinician role holds
    INSERT and SELECT only), signed by its author when written (`created_at` is the signature's
    time). `patient` repeats the visit's patient so row-level security reads it as it reads
    visits; the database checks it is the visit's (records/db_checks.py)."""

    addendum_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    record = models.ForeignKey(
        ClinicalRecord, on_delete=models.PROTECT, db_column="record_id", related_name="addenda"
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="author_id", related_name="+"
    )
    text = EncryptedTextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = VisitAddendumQuerySet.as_manager()

    class Meta:
        db_table = "visit_addenda"
        indexes = [
            models.Index(fields=["record", "created_at"], name="visit_addenda_record"),
            models.Index(fields=["patient"], name="visit_addenda_patient"),
        ]

    def __str__(self) -> str:
        return f"addendum {self.addendum_id}"


class CareTeamQuerySet(models.QuerySet["CareTeamMember"]):
    def active(self, on: object = None) -> CareTeamQuerySet:
        today = on or timezone.localdate()
        return self.filter(starts_on__lte=today).filter(
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=today)
        )


class CareTeamMember(models.Model):
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="staff_id", related_name="+"
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="care_team"
    )
    starts_on = models.DateField(default=timezone.localdate)
    ends_on = models.DateField(null=True, blank=True)
    # Free text ("covering for Dr ...", "follow-up of ..."): encrypted like every free text.
    reason = EncryptedTextField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CareTeamQuerySet.as_manager()

    class Meta:
        db_table = "care_team"
        indexes = [
            # Covers the row-level-security policy's care-team lookup (records/db_grants.py):
            # "on this clinician's care team today" is an index-only probe.
            models.Index(
                fields=["staff", "patient"],
                include=["starts_on", "ends_on"],
                name="care_team_staff_panel",
            )
        ]

    def __str__(self) -> str:
        return f"care team entry {self.pk}"


class BreakGlassGrant(models.Model):
    """Emergency access to one patient, time-boxed, reviewed by the privacy officer."""

    REASONS = [
        ("emergency", "Medical emergency"),
        ("covering", "Covering for the treating clinician"),
        ("referral", "Urgent referral or consult"),
        ("other", "Other (explain)"),
    ]
    grant_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_column="staff_id", related_name="+"
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    reason_category = models.CharField(max_length=20, choices=REASONS)
    # Free text may mention clinical facts: encrypted like notes.
    reason_text = EncryptedTextField(max_length=1000, blank=True)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="reviewed_by_id",
        related_name="+",
    )
    # The privacy officer's sign-off may quote the clinician's explanation: encrypted too.
    review_comment = EncryptedTextField(max_length=2000, blank=True)

    class Meta:
        db_table = "break_glass_grants"
        indexes = [
            models.Index(fields=["staff", "patient", "expires_at"], name="break_glass_active"),
            models.Index(fields=["reviewed_at"], name="break_glass_review"),
        ]

    def __str__(self) -> str:
        return f"break-the-glass grant {self.grant_id}"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.ended_at is None and self.starts_at <= now < self.expires_at


class Icd10Code(models.Model):
    """A billable ICD-10-CM code, loaded by provisioning from the code set the application
    validates with (records/icd10_table.py), so the database refuses a visit with any other."""

    code = models.CharField(max_length=8, primary_key=True)

    class Meta:
        db_table = "icd10_cm_codes"

    def __str__(self) -> str:
        return self.code


# Drafts live in their own module; imported here so the app loads them.
from records.drafts import VisitNoteDraft  # noqa: E402, F401
