"""Writes on the clinical side (HackSoft style: `<entity>_<action>(*, ...)`, atomic).

Run inside the request's transaction under the user's database role, so row-level security
checks every row written: a clinician can only create records as themselves for their own
patients, and only the front desk role may write the care team.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from patients.models import PatientIdentity
from records.models import CareTeamMember, ClinicalRecord, VisitAddendum


class RecordConflict(Exception):
    """Someone saved the record after this editor read it (optimistic locking)."""

    def __init__(self, current: ClinicalRecord | None):
        super().__init__("the record changed since it was read")
        self.current = current


@transaction.atomic
def record_create(
    *,
    patient: PatientIdentity,
    provider: Any,
    visit_date: datetime.date,
    diagnosis_code: str,
    notes: str,
) -> ClinicalRecord:
    record = ClinicalRecord(
        patient=patient,
        provider=provider,
        visit_date=visit_date,
        diagnosis_code=diagnosis_code,
        notes=notes,
    )
    record.full_clean()
    record.save(force_insert=True)
    return record


@transaction.atomic
def record_update(
    *,
    record: ClinicalRecord,
    expected_version: int,
    visit_date: datetime.date,
    diagnosis_code: str,
    notes: str,
) -> ClinicalRecord:
    """UPDATE ... WHERE record_id = %s AND version = %s; no row changed means a conflict.

    The check and the write are one statement, so two editors cannot both win: the second
    one's WHERE no longer matches, and nothing of theirs is written.
    """
    changes = ClinicalRecord(
        record_id=record.record_id,
        patient_id=record.patient_id,
        provider_id=record.provider_id,
        visit_date=visit_date,
        diagnosis_code=diagnosis_code,
        notes=notes,
    )
    changes.clean_fields(exclude=["record_id", "patient", "provider"])
    unsigned = ClinicalRecord.objects.filter(signed_at__isnull=True)
    updated = unsigned.filter(pk=record.record_id, version=expected_version).update(
        visit_date=visit_date,
        diagnosis_code=diagnosis_code,
        notes=notes,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    if updated != 1:
        raise RecordConflict(ClinicalRecord.objects.filter(pk=record.record_id).first())
    record.refresh_from_db()
    return record


@transaction.atomic
def record_sign(*, record: ClinicalRecord, signer: Any, expected_version: int) -> ClinicalRecord:
    """Sign the note as read at `expected_version`, by its author. One statement decides: a note
    changed or signed since it was read, or not the signer's, changes nothing (RecordConflict);
    the database refuses the same (records/db_signing.py)."""
    updated = ClinicalRecord.objects.filter(
        pk=record.record_id,
        version=expected_version,
        provider=signer,
        signed_at__isnull=True,
    ).update(
        signed_at=timezone.now(),
        signed_by=signer,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    if updated != 1:
        raise RecordConflict(ClinicalRecord.objects.filter(pk=record.record_id).first())
    record.refresh_from_db()
    return record


@transaction.atomic
def addendum_add(*, record: ClinicalRecord, author: Any, text: str) -> VisitAddendum:
    """Append a signed addendum to a signed note (the author signs it by writing it)."""
    addendum = VisitAddendum(record=record, patient_id=record.patient_id, author=author, text=text)
    addendum.full_clean()
    addendum.save(force_insert=True)
    return addendum


@transaction.atomic
def care_team_add(
    *,
    patient: PatientIdentity,
    staff: Any,
    starts_on: datetime.date,
    ends_on: datetime.date | None,
    reason: str,
) -> CareTeamMember:
    member = CareTeamMember(
        patient=patient, staff=staff, starts_on=starts_on, ends_on=ends_on, reason=reason
    )
    member.full_clean()
    member.save(force_insert=True)
    return member


@transaction.atomic
def care_team_end(*, member: CareTeamMember) -> CareTeamMember:
    """End an assignment now: the last day becomes yesterday, so today's access stops at once
    (row-level security counts `ends_on` as a day the clinician still treats the patient)."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    if member.ends_on is None or member.ends_on > yesterday:
        member.ends_on = yesterday
        member.save(update_fields=["ends_on"])
    return member
