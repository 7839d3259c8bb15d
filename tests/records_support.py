"""Helpers for the clinical-records tests: stored rows, read through the owner connection (the
test's web connection has no role). Their data comes from tests.factories, their access-log
events are read with tests.privacy_helpers.events."""

from __future__ import annotations

from django.db import connections

from records.models import ClinicalRecord

OWNER = "owner"


def raw_record_row(record_id) -> tuple:
    """The stored row as the database has it (notes as ciphertext)."""
    with connections[OWNER].cursor() as cursor:
        cursor.execute(
            "SELECT visit_date, diagnosis_code, notes, version FROM clinical_records "
            "WHERE record_id = %s",
            [str(record_id)],
        )
        return cursor.fetchone()


def record_count() -> int:
    return ClinicalRecord.objects.using(OWNER).count()


def banner_grant_set(clinician, other_clinician, patient) -> tuple:
    """Two active break-the-glass grants of `clinician` (soonest to expire first), and the ones
    the banner never shows: ended, expired, not yet started, another clinician's."""
    from datetime import timedelta

    from django.utils import timezone

    from records.models import BreakGlassGrant
    from tests.factories import BreakGlassGrantFactory

    now = timezone.now()
    soon = BreakGlassGrantFactory(staff=clinician, patient=patient, hours=1)
    later = BreakGlassGrantFactory(staff=clinician, patient=patient, hours=3)
    BreakGlassGrantFactory(staff=clinician, patient=patient, ended_at=now)
    BreakGlassGrantFactory(staff=clinician, patient=patient, hours=-1)  # expired
    future = BreakGlassGrantFactory(staff=clinician, patient=patient)
    BreakGlassGrant.objects.using(OWNER).filter(pk=future.pk).update(
        starts_at=now + timedelta(hours=1)  # not yet started
    )
    BreakGlassGrantFactory(staff=other_clinician, patient=patient)  # someone else's
    return soon, later
