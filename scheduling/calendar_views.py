"""The calendar's week view: one clinician's week, Monday to Sunday, a row per day.

The front desk chooses the clinician; a clinician sees their own week (with the visit reason).
Like the day list, each patient shown is logged once (`appointments_listed`).
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic import roles
from clinic.access import group_required
from clinic.staff import staff_group
from scheduling.access import appointments_for
from scheduling.flow import log_listed
from scheduling.forms import WeekForm
from scheduling.slots import day_bounds


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    form = WeekForm(request.GET or None)
    monday = form.monday()
    group = staff_group(request.user)
    clinician = request.user if group == roles.CLINICIAN else form.chosen_clinician()
    days = [monday + datetime.timedelta(days=n) for n in range(7)]
    by_day: dict[datetime.date, list] = {day: [] for day in days}
    if clinician is not None:
        start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
        appointments = list(
            appointments_for(request)
            .filter(clinician_id=clinician.pk)
            .between(start, end)
            .order_by("starts_at")
        )
        for appointment in appointments:
            by_day[timezone.localtime(appointment.starts_at).date()].append(appointment)
        log_listed(request, appointments)
    return render(
        request,
        "scheduling/week.html",
        {
            "form": form,
            "clinician": clinician,
            "days": list(by_day.items()),
            "today": timezone.localdate(),
            "previous_week": monday - datetime.timedelta(days=7),
            "next_week": monday + datetime.timedelta(days=7),
            "chooses_clinician": group == roles.FRONT_DESK,
            "shows_reason": group == roles.CLINICIAN,
        },
    )
