"""The privacy officer's home page: what is waiting for them.

Break-the-glass access awaiting review (oldest first; the review queue has them all), the
week's flags, and the accounts and addresses locked out now. Read under the privacy officer's
own role, as the console pages read them; nothing here names a patient, so nothing is logged
(opening a grant or a report is, on its own page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Window
from django.http import HttpRequest
from django.utils import timezone

from accounts.lockout import accounts_for, locked_out
from privacy.selectors import (
    FLAG_WINDOW_DAYS,
    charts_outside_care_team,
    usernames,
    views_outside_clinic_hours,
)
from records.models import BreakGlassGrant

REVIEWS_SHOWN = 5


@dataclass(frozen=True)
class PendingReview:
    grant: BreakGlassGrant
    username: str
    days_waiting: int
    active: bool


def _pending_reviews(now: datetime) -> tuple[int, list[PendingReview]]:
    """The oldest grants awaiting review, each row carrying how many await in all (a window
    count: one statement, where a count after the rows was a second)."""
    pending = BreakGlassGrant.objects.filter(reviewed_at__isnull=True).defer("reason_text")
    oldest = list(
        pending.annotate(awaiting=Window(Count("pk"))).order_by("starts_at")[:REVIEWS_SHOWN]
    )
    names = usernames(g.staff_id for g in oldest)
    rows = [
        PendingReview(
            grant,
            names.get(grant.staff_id, "—"),
            (now - grant.starts_at).days,
            grant.ended_at is None and grant.expires_at > now,
        )
        for grant in oldest
    ]
    return (oldest[0].awaiting if oldest else 0), rows


def privacy_officer_open_items(request: HttpRequest) -> dict[str, object]:
    now = timezone.now()
    review_count, reviews = _pending_reviews(now)
    accounts = locked_out("username")
    names = accounts_for(row["value"] for row in accounts)
    for row in accounts:
        row["account"] = names.get(row["value"], "")
    outside_care_team = charts_outside_care_team(now)
    outside_hours = views_outside_clinic_hours(now)
    addresses = locked_out("ip_address")
    return {
        "review_count": review_count,
        "reviews": reviews,
        "outside_care_team": outside_care_team,
        "outside_hours": outside_hours,
        "flag_count": len(outside_care_team) + len(outside_hours),
        "flag_days": FLAG_WINDOW_DAYS,
        "flag_threshold": settings.PRIVACY_FLAG_OUTSIDE_CARE_TEAM,
        "locked_accounts": accounts,
        "locked_addresses": addresses,
        "lockout_count": len(accounts) + len(addresses),
    }
