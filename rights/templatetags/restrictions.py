"""`{% restriction_banner patient_id %}`: on every page with the patient's header (the summary,
the chart, the visits, the booking pages), "Restriction agreed: <category>" for each agreed
restriction in force (164.522(a)). One statement, and none when the page's facts say there is no
such restriction (rights/patient_facts.py); the database decides which rows and columns the
reader may see (rights/db_restrictions.py: the front desk every active one, a clinician those
of the patients it may see; never the detail). The page's own event covers the view."""

from __future__ import annotations

from typing import Any

from django import template

from clinic import roles
from clinic.staff import staff_group
from rights import patient_facts
from rights.restriction_services import active_restrictions

register = template.Library()
READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN, roles.PRIVACY_OFFICER})


@register.inclusion_tag("includes/restriction_banner.html", takes_context=True)
def restriction_banner(context: dict[str, Any], patient_id: Any) -> dict[str, Any]:
    request = context.get("request")
    if request is None or patient_id is None or staff_group(request.user) not in READERS:
        return {"restrictions": []}
    if not patient_facts.shows(request, patient_id, patient_facts.RESTRICTIONS):
        return {"restrictions": []}
    return {"restrictions": active_restrictions(patient_id)}
