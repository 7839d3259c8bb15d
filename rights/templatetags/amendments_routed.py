"""`{% amendments_routed_panel %}`: on the clinician's home, how many amendment requests
(164.526) are routed to them and still open, with the nearest due date and a link. Counts and
dates only (no patient is named, so nothing to log); row-level security counts only theirs.
One statement for both figures (it was a count and then a minimum: a statement more on every
clinician's home page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Min

from rights.models import AmendmentRequest

register = template.Library()


@register.inclusion_tag("rights/amendments_routed_panel.html", takes_context=True)
def amendments_routed_panel(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"count": 0}
    return AmendmentRequest.objects.filter(outcome="open", routed_to_id=request.user.pk).aggregate(
        count=Count("pk"), first_due=Min("due_on")
    )
