"""The front desk's day view, a few clinicians at a time (issue 17 "Speed"; docs/scheduling.md).

The clinicians of a day are the active clinicians and anyone else with an appointment that day
(a colleague who has left keeps their column until their appointments are moved), by name.
A page shows PAGE_SIZE of them; only their appointments are read, decrypted and logged. The
clinician picker jumps to the page holding the chosen clinician. Finding the clinicians reads
staff names and the day's clinician ids, no patient.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Q

from clinic import roles
from scheduling.models import Appointment
from scheduling.slots import day_bounds

# Each clinician is a card of their day (about 25 rows of 44 px touch targets: a screen height
# or more each), so a page of 5 is a few screens to scroll, and a full day of 5 clinicians
# (125 appointments) stays within the page's 100 ms budget (docs/benchmarks.md).
PAGE_SIZE = 5


def clinicians_of_day(day: datetime.date) -> list[Any]:
    """Active clinicians and whoever has an appointment on `day`, by name (one statement)."""
    start, end = day_bounds(day)
    booked = Appointment.objects.between(start, end).values("clinician_id")
    return list(
        get_user_model()
        .objects.filter(Q(groups__name=roles.CLINICIAN, is_active=True) | Q(pk__in=booked))
        .only("id", "username", "first_name", "last_name")
        .order_by("last_name", "first_name", "username", "id")
        .distinct()
    )


def page_of(clinicians: list[Any], number: int) -> Page:
    """Page `number` (1-based; out of range: the last page)."""
    return Paginator(clinicians, PAGE_SIZE).get_page(number)


def page_holding(clinicians: list[Any], clinician_id: int) -> int | None:
    """The page number on which `clinician_id` is shown, or None (not a clinician of the day)."""
    for position, clinician in enumerate(clinicians):
        if clinician.pk == clinician_id:
            return position // PAGE_SIZE + 1
    return None
