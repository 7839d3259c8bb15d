"""The calendar's week view (one clinician's week, Monday to Sunday, a row per day) and
booking from the calendar (an empty slot of the day or week view -> find the patient -> the
booking form with clinician and time filled in -> back to the day).

The front desk chooses the clinician and sees the free time, each stretch linking to booking;
a clinician sees their own week (with the visit reason). Like the day list, each patient shown
is logged once (`appointments_listed`).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from clinic import roles
from clinic.access import group_required
from clinic.staff import staff_group
from patients.forms import PatientSearchForm
from patients.models import PatientIdentity
from patients.views import log_search
from scheduling.access import appointments_for
from scheduling.flow import log_listed
from scheduling.forms import CalendarSlotForm, WeekForm
from scheduling.free_time import free_stretches
from scheduling.needs_new_time import with_needs_new_time
from scheduling.slots import day_bounds

NOT_ON_THE_CALENDAR = "That time is not on the calendar; choose an empty slot again."


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    form = WeekForm(request.GET or None)
    monday = form.monday()
    group = staff_group(request.user)
    clinician = request.user if group == roles.CLINICIAN else form.chosen_clinician()
    days = [monday + datetime.timedelta(days=n) for n in range(7)]
    by_day: dict[datetime.date, list] = {day: [] for day in days}
    free: dict[datetime.date, list] = {day: [] for day in days}
    if clinician is not None:
        start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
        listed = appointments_for(request).listed().filter(clinician_id=clinician.pk)
        if group == roles.FRONT_DESK:
            listed = with_needs_new_time(listed)
        appointments = list(listed.between(start, end).order_by("starts_at"))
        for appointment in appointments:
            by_day[timezone.localtime(appointment.starts_at).date()].append(appointment)
        log_listed(request, appointments)
        if group == roles.FRONT_DESK:
            clinician_id = int(clinician.pk or 0)
            for day in days:
                free[day] = free_stretches([clinician_id], day).get(clinician_id, [])
    return render(
        request,
        "scheduling/week.html",
        {
            "form": form,
            "clinician": clinician,
            "days": [(day, by_day[day], free[day]) for day in days],
            "today": timezone.localdate(),
            "previous_week": monday - datetime.timedelta(days=7),
            "next_week": monday + datetime.timedelta(days=7),
            "chooses_clinician": group == roles.FRONT_DESK,
            "shows_reason": group == roles.CLINICIAN,
        },
    )


@group_required(roles.FRONT_DESK)
@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def book_from_calendar(request: HttpRequest) -> HttpResponse:
    """An empty slot chosen on the day or week view: find the patient (the front desk's POSTed
    search, logged as patient search logs it), then the booking form with the clinician and the
    time filled in. The URL carries the clinician's id and a UTC time only."""
    slot = CalendarSlotForm(request.GET)
    if not slot.is_valid():
        messages.error(request, NOT_ON_THE_CALENDAR)
        return redirect("scheduling:day")
    results: list[PatientIdentity] | None = None
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        results = form.search()
        log_search(request, form.cleaned_data["mode"], results)
        form = PatientSearchForm()  # never echo what was typed
    at = slot.cleaned_data["at"]
    return render(
        request,
        "scheduling/book_from_calendar.html",
        {
            "clinician": slot.cleaned_data["clinician"],
            "at": at,
            "day": timezone.localdate(at),
            "booking_query": urlencode(
                {"clinician": slot.cleaned_data["clinician"].pk, "at": request.GET["at"]}
            ),
            "form": form,
            "modes": PatientSearchForm.MODES,
            "results": results,
        },
    )
