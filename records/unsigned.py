"""Visit notes their author has not signed N days after the visit (UNSIGNED_NOTE_DAYS).

`unsigned_notes(user)` is the list (the clinician's own page, records/signing_views.py);
`unsigned_notes_panel(request)` the context of the small include for the clinician's home
page, `records/includes/unsigned_notes.html`, which shows a count and a link and no patient,
so the home page logs nothing for it. It counts at most PANEL_COUNT_CAP notes and says "N or
more" beyond: the count runs on every home page view, and a clinician far behind (or a
benchmark's unsigned year of visits: 22,000 rows, 8 ms a view) should not pay for counting
every one. The one-line include:

    {% load unsigned_notes %}{% unsigned_notes_panel %}

Both read under the request's role: row-level security shows a clinician only the visits of
patients they may see, so a note of a patient who has left their care team is not listed (and
could not be signed): docs/notes.md.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from clinic import roles
from clinic.staff import staff_group
from records.models import ClinicalRecord

PANEL_COUNT_CAP = 100


def overdue_before() -> datetime.date:
    """Visits dated before this day (the clinic's date) are overdue for a signature."""
    return timezone.localdate() - datetime.timedelta(days=settings.UNSIGNED_NOTE_DAYS)


def unsigned_notes(user: Any) -> Any:
    """The author's overdue unsigned visits, oldest first (no notes fetched)."""
    return (
        ClinicalRecord.objects.filter(
            provider_id=user.pk, signed_at__isnull=True, visit_date__lt=overdue_before()
        )
        .defer("notes")
        .order_by("visit_date", "record_id")
    )


def unsigned_notes_panel(request: HttpRequest) -> dict[str, Any]:
    """Context of the home-page include: for a clinician, how many notes are overdue."""
    if staff_group(request.user) != roles.CLINICIAN:
        return {"show": False}
    count = unsigned_notes(request.user)[:PANEL_COUNT_CAP].count()
    return {
        "show": True,
        "count": count,
        "at_cap": count >= PANEL_COUNT_CAP,
        "days": settings.UNSIGNED_NOTE_DAYS,
    }
