"""Amendments (164.526) shown wherever their item is shown.

- `{% chart_amendments patient_id as amended %}`: one statement for the patient's amendment
  entries, one for the denied requests about chart entries, each only when the page's facts
  say there is such a row (rights/patient_facts.py); what the reader may see is the
  database's decision (rights/db_amendment_entries.py, rights/db_amendments.py: a clinician
  the patients it may see, the front desk the demographic fields only, nothing for the others).
- `{% item_amendments amended kind item_id %}` (optionally `colspan=N` in a table): the
  accepted amendments of that item, and after a denial the request, the denial, the patient's
  statement of disagreement and the rebuttal. Nothing when there is none.
The page's own event (the chart section viewed, the summary viewed) covers the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template
from django.http import HttpRequest

from clinic import roles
from clinic.staff import staff_group
from rights import patient_facts
from rights.amendment_models import AmendmentEntry
from rights.models import AmendmentRequest

register = template.Library()


@dataclass
class Attached:
    entries: list[AmendmentEntry] = field(default_factory=list)
    denied: list[AmendmentRequest] = field(default_factory=list)


def attached(
    patient_id: Any, group: str | None, request: HttpRequest | None = None
) -> dict[str, Attached]:
    """ "kind:id" -> what is attached to the item, for a reader of `group` (with `request`, a
    read its page's facts say is empty is skipped: rights/patient_facts.py)."""
    found: dict[str, Attached] = {}
    if group not in (roles.CLINICIAN, roles.FRONT_DESK):
        return found
    if patient_facts.shows(request, patient_id, patient_facts.AMENDMENT_ENTRIES):
        entries = patient_facts.amendment_entries(patient_id, group).select_related("author")
        for entry in entries.order_by("created_at", "entry_id"):
            key = f"{entry.target_kind}:{entry.target_id}"
            found.setdefault(key, Attached()).entries.append(entry)
    if group == roles.CLINICIAN and patient_facts.shows(
        request, patient_id, patient_facts.DENIED_CHART_REQUESTS
    ):
        denied = patient_facts.denied_chart_requests(patient_id).select_related("decided_by")
        for amendment in denied.order_by("decided_on", "recorded_at"):
            key = f"{amendment.target_kind}:{amendment.target_id}"
            found.setdefault(key, Attached()).denied.append(amendment)
    return found


@register.simple_tag(takes_context=True)
def chart_amendments(context: dict[str, Any], patient_id: Any) -> dict[str, Attached]:
    request = context.get("request")
    if request is None or patient_id is None:
        return {}
    return attached(patient_id, staff_group(request.user), request)


@register.inclusion_tag("rights/item_amendments.html")
def item_amendments(
    amended: dict[str, Attached], kind: str, item_id: Any, colspan: int = 0
) -> dict[str, Any]:
    return {"attached": amended.get(f"{kind}:{item_id}"), "colspan": colspan}


@register.inclusion_tag("rights/demographic_amendments.html", takes_context=True)
def demographic_amendments(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    """On the patient summary: the accepted amendments of demographic fields (one statement)."""
    request = context.get("request")
    if request is None or staff_group(request.user) not in (roles.CLINICIAN, roles.FRONT_DESK):
        return {"rows": []}
    if not patient_facts.shows(request, patient_id, patient_facts.AMENDMENT_ENTRIES):
        return {"rows": []}
    entries = patient_facts.demographic_amendment_entries(patient_id)
    return {"rows": list(entries.select_related("author").order_by("created_at", "entry_id"))}
