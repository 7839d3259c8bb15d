"""Today's flow: "My day" (the clinician's home page) and the patient-flow board.

Both show today's appointments (the clinic's day) with each patient's state and waiting time
and log one `appointments_listed` event per patient shown. The board refreshes its rows without
a reload: static/js/flow-board.js polls `board_rows` (an HTML fragment, same origin, under the
strict CSP), a path the idle-logout middleware never counts as activity
(accounts/lifetime.py NO_RENEW_PATHS), so a board left open still signs out when idle.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic import roles
from clinic.access import group_required
from clinic.staff import staff_group
from scheduling.flow import (
    flow_rows,
    log_board_refresh,
    log_listed,
    remember_board,
    todays_appointments,
)
from scheduling.forms import StepForm

# How often an open board asks for fresh rows (seconds); the tests shorten it.
BOARD_REFRESH_SECONDS = 15
HOME_TEMPLATE = "clinic/home/clinician.html"


def _context(request: HttpRequest, appointments: list) -> dict:
    group = staff_group(request.user)
    return {
        "rows": flow_rows(appointments, timezone.now()),
        "today": timezone.localdate(),
        "steps": StepForm(group=group).fields["status"].choices,  # type: ignore[attr-defined]
        "front_desk": group == roles.FRONT_DESK,
        "clinician": group == roles.CLINICIAN,
    }


@group_required(roles.CLINICIAN)
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """The clinician's home: their appointments today, each patient's chart one click away
    (on their care team for the day, scheduling/care_team.py)."""
    appointments = todays_appointments(request)
    log_listed(request, appointments)
    return render(request, HOME_TEMPLATE, _context(request, appointments))


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@require_GET
@never_cache
def board(request: HttpRequest) -> HttpResponse:
    appointments = todays_appointments(request)
    log_listed(request, appointments)
    remember_board(request, appointments)
    return render(
        request,
        "scheduling/board.html",
        {**_context(request, appointments), "refresh_seconds": BOARD_REFRESH_SECONDS},
    )


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@require_GET
@never_cache
def board_rows(request: HttpRequest) -> HttpResponse:
    """The board's rows, for its script; never renews the idle session (see the docstring)."""
    appointments = todays_appointments(request)
    log_board_refresh(request, appointments)
    response = render(request, "scheduling/_board_rows.html", _context(request, appointments))
    # The clinic's clock for "updated hh:mm:ss" (the browser's may be in another zone).
    response["X-Clinic-Time"] = timezone.localtime().strftime("%H:%M:%S")
    return response
