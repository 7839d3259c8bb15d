"""Writes on patient identities (STYLE.md: `<entity>_<action>(*, ...)` under transaction.atomic).

Blind indexes are recomputed by `PatientIdentity.save()` from the row's own values, and every
save writes the whole row, so the indexes always describe the ciphertext next to them. A
demographics update also locks the row (SELECT ... FOR UPDATE): two concurrent saves run one
after the other instead of interleaving.

Duplicate SSNs are found through the SSN blind index. Two registrations of the same SSN at the
same moment are serialised by a transaction-scoped advisory lock on that index value (the index
is a keyed HMAC, not the SSN), so the check-then-insert cannot race.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, connections, transaction

from clinic.blind_index import blind_index
from patients.models import DEMOGRAPHIC_FIELDS, PatientIdentity

MRN_ATTEMPTS = 5


class DuplicatePatient(Exception):
    """Another patient already has this SSN; carries that patient's id (no PHI)."""

    def __init__(self, patient_id: uuid.UUID) -> None:
        super().__init__(f"SSN already registered to patient {patient_id}")
        self.patient_id = patient_id


def _lock_and_find_ssn_owner(
    ssn: str, *, excluding: uuid.UUID | None, using: str
) -> uuid.UUID | None:
    if not ssn:
        return None
    index = blind_index("ssn", ssn)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["patients.ssn:" + index])
    owners = PatientIdentity.objects.using(using).filter(ssn_bidx=index)
    if excluding is not None:
        owners = owners.exclude(pk=excluding)
    return owners.values_list("pk", flat=True).first()


def _save_with_fresh_mrn(patient: PatientIdentity, *, using: str) -> None:
    """Insert; on the rare MRN collision (unique blind index) draw another MRN and retry."""
    for attempt in range(MRN_ATTEMPTS):
        try:
            with transaction.atomic(using=using):
                patient.save(using=using, force_insert=True)
            return
        except IntegrityError:
            if attempt == MRN_ATTEMPTS - 1:
                raise
            patient.mrn = ""


def patient_register(*, demographics: dict[str, Any], using: str = "default") -> PatientIdentity:
    """Create a patient from validated demographics; DuplicatePatient if the SSN is known."""
    with transaction.atomic(using=using):
        existing = _lock_and_find_ssn_owner(
            demographics.get("ssn", ""), excluding=None, using=using
        )
        if existing is not None:
            raise DuplicatePatient(existing)
        patient = PatientIdentity(
            **{name: demographics[name] for name in DEMOGRAPHIC_FIELDS if name in demographics}
        )
        _save_with_fresh_mrn(patient, using=using)
        return patient


def patient_update_demographics(
    *, patient_id: uuid.UUID, demographics: dict[str, Any], using: str = "default"
) -> list[str]:
    """Apply validated demographics to a locked row; returns the names of changed fields."""
    with transaction.atomic(using=using):
        patient = PatientIdentity.objects.using(using).select_for_update().get(pk=patient_id)
        existing = _lock_and_find_ssn_owner(
            demographics.get("ssn", ""), excluding=patient.pk, using=using
        )
        if existing is not None:
            raise DuplicatePatient(existing)
        changed = [
            name
            for name in DEMOGRAPHIC_FIELDS
            if name in demographics and getattr(patient, name) != demographics[name]
        ]
        if changed:
            for name in changed:
                setattr(patient, name, demographics[name])
            patient.save(using=using)
        return changed
