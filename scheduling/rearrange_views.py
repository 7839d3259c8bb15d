"""The front desk's "Appointments to re-arrange": the booked appointments of the coming weeks,
every clinician's, that now lie outside their clinician's working time (hours changed, time
off added since they were booked; scheduling/needs_new_time.py), soonest first, a page at a
time, each with its Reschedule link. The URL carries a page number only. Like the day list,
each patient shown is logged once (`appointments_listed`, the request's events in one
statement); other roles get 403, logged.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic import roles
from clinic.access import group_required
from scheduling.access import appointments_for
from scheduling.flow import log_listed
from scheduling.needs_new_time import HORIZON_WEEKS, to_rearrange

PER_PAGE = 25


@group_required(roles.FRONT_DESK)
@require_GET
def rearrange(request: HttpRequest) -> HttpResponse:
    # The rule runs once per booked appointment of the horizon (docs/scheduling.md, "Cost"):
    # once here, for the ids in order, not twice (a pager's count, then its page).
    flagged = list(to_rearrange(appointments_for(request)).values_list("pk", flat=True))
    page = Paginator(flagged, PER_PAGE).get_page(request.GET.get("page"))
    rows = appointments_for(request).listed().in_bulk(list(page.object_list))
    appointments = [rows[pk] for pk in page.object_list if pk in rows]
    log_listed(request, appointments)
    return render(
        request,
        "scheduling/rearrange.html",
        {"page": page, "appointments": appointments, "weeks": HORIZON_WEEKS},
    )
