"""Unsaved visit notes kept at idle sign-out.

A clinician typing a long note without clicking anything would lose it when the idle limit signs
them out. Typing renews the session (static/js/session-timeout.js), and if the session ends
anyway, the visit form's script (static/js/visit-draft.js) posts what was typed
(records/draft_views.py) just before the page is blanked. The draft is one row per clinician,
patient and visit (none: a new visit), every typed value encrypted like the notes themselves;
the same clinician gets it back in the form after signing in again, and it is deleted when the
visit is saved. Never in browser storage.

The database keeps drafts to their author (row-level security: a clinician reads, changes and
deletes only their own, and writes one only for a patient they may see; records/db_grants.py
holds the policies). Saving a draft is not activity: its address is in
accounts.lifetime.NO_RENEW_PATHS, so an open form cannot keep a session alive by itself.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from clinic.encryption import EncryptedTextField
from patients.models import PatientIdentity

# A draft may be longer than a visit note may be (the form then says so); not unbounded.
DRAFT_MAX_LENGTH = 40000
# Saving a draft is not activity (accounts.lifetime.NO_RENEW_PATHS).
SAVE_PATH = "/visit-note-drafts/save"


class VisitNoteDraft(models.Model):
    draft_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_column="staff_id", related_name="+"
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    # The visit being edited; null for a new visit.
    record = models.ForeignKey(
        "records.ClinicalRecord",
        on_delete=models.CASCADE,
        db_column="record_id",
        null=True,
        blank=True,
        related_name="+",
    )
    # What was typed, as typed (not yet valid, so no date or code types): all encrypted.
    visit_date = EncryptedTextField(max_length=40, blank=True)
    diagnosis_code = EncryptedTextField(max_length=100, blank=True)
    notes = EncryptedTextField(max_length=DRAFT_MAX_LENGTH, blank=True)
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "visit_note_drafts"
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "patient", "record"],
                name="visit_note_draft_one_per_form",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"draft {self.draft_id}"
