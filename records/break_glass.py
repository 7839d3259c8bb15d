"""Break the glass (45 CFR 164.312(a)(2)(ii)): emergency access to one patient, time-boxed.

A clinician who is not on a patient's care team re-enters their password, gives a reason and
gets a grant for that one patient; row-level security on clinical_records honours it until it
expires or is ended (records/db_grants.py). Every start, end and review is an access-log event;
the free-text reason is encrypted on the grant and never copied into the log.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from patients.models import PatientIdentity
from records.db_grants import ACCESS_NAME, CARE_TEAM_ACCESS, active_grant
from records.models import BreakGlassGrant

# request.user as views see it (they are behind login_required).
Staff = AbstractBaseUser | AnonymousUser


# The banner's query (records/context_processors.py), on every clinician page: the policy's
# grant condition in plain SQL, since building the ORM query cost five times the CPU of running
# it (0.6 vs 0.1 ms per request, issue #8). tests/test_break_glass.py checks that it agrees with
# active_grants().
BANNER_SQL = (
    "SELECT grant_id, reason_category, expires_at FROM break_glass_grants bg"  # noqa: S608
    f" WHERE {active_grant('%s')} ORDER BY expires_at"
)


def banner_grants(staff: Staff) -> list[BreakGlassGrant]:
    """The staff member's active grants, with the fields the banner shows."""
    with connection.cursor() as cursor:
        cursor.execute(BANNER_SQL, [staff.pk])
        return [
            BreakGlassGrant(grant_id=grant_id, reason_category=reason, expires_at=expires_at)
            for grant_id, reason, expires_at in cursor.fetchall()
        ]


def banner_grants_from(rows: list[list[Any]]) -> list[BreakGlassGrant]:
    """The banner's grants from the role switch's column (records/db_banner.py): JSON rows of
    [grant id, reason category, expiry]."""
    return [
        BreakGlassGrant(
            grant_id=uuid.UUID(grant_id),
            reason_category=reason,
            expires_at=datetime.fromisoformat(expires_at),
        )
        for grant_id, reason, expires_at in rows
    ]


def active_grants(staff: Staff) -> models.QuerySet[BreakGlassGrant]:
    now = timezone.now()
    return BreakGlassGrant.objects.filter(
        staff_id=staff.pk, ended_at__isnull=True, starts_at__lte=now, expires_at__gt=now
    ).order_by("expires_at")


def is_on_care_team(patient: PatientIdentity) -> bool:
    """On the signed-in clinician's care team today, so no grant is needed: standing, or by a
    live appointment today (records/db_grants.py ACCESS_FUNCTION, asked of the request's
    verified staff id)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ACCESS_NAME}(%s)", [str(patient.pk)])
        return cursor.fetchone()[0] == CARE_TEAM_ACCESS


def break_glass_start(
    *,
    request: HttpRequest,
    staff: Staff,
    patient: PatientIdentity,
    reason_category: str,
    reason_text: str = "",
) -> BreakGlassGrant:
    """A new grant, or the clinician's still-active grant for this patient (no duplicates)."""
    with transaction.atomic():
        existing = active_grants(staff).filter(patient=patient).first()
        if existing is not None:
            return existing
        now = timezone.now()
        grant = BreakGlassGrant.objects.create(
            staff_id=cast(int, staff.pk),
            patient=patient,
            reason_category=reason_category,
            reason_text=reason_text,
            starts_at=now,
            expires_at=now + timedelta(hours=settings.BREAK_GLASS_HOURS),
        )
        access_log.record(
            request,
            access_log.BREAK_GLASS_STARTED,
            patient_id=patient.pk,
            object_id=grant.pk,
            reason=reason_category,
        )
    return grant


def break_glass_end(*, request: HttpRequest, grant: BreakGlassGrant) -> BreakGlassGrant:
    with transaction.atomic():
        if grant.ended_at is None:
            grant.ended_at = timezone.now()
            grant.save(update_fields=["ended_at"])
            access_log.record(
                request,
                access_log.BREAK_GLASS_ENDED,
                patient_id=grant.patient_id,
                object_id=grant.pk,
                outcome="ended early" if grant.ended_at < grant.expires_at else "ended",
            )
    return grant


def break_glass_review(
    *, request: HttpRequest, grant: BreakGlassGrant, reviewer: Staff, comment: str
) -> BreakGlassGrant:
    with transaction.atomic():
        grant.reviewed_at = timezone.now()
        grant.reviewed_by_id = reviewer.pk
        grant.review_comment = comment
        grant.save(update_fields=["reviewed_at", "reviewed_by_id", "review_comment"])
        access_log.record(
            request,
            access_log.BREAK_GLASS_REVIEWED,
            patient_id=grant.patient_id,
            object_id=grant.pk,
        )
    return grant
