"""The front desk's day: book from a patient, today's list per clinician, check-in and the
day's steps, cancel with a reason. Each view reads fetch -> form -> save -> redirect.

URLs carry only UUIDs and dates. The day list logs one event per patient it shows, as patient
search does, so "who saw this patient" finds it; a double booking the database refuses is a
form error with fresh slots (HTTP 409), never a 500.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from clinic import roles
from clinic.access import group_required
from clinic.staff import staff_group
from patients.access import get_patient_for_user
from scheduling.access import appointments_for, get_appointment_for_user
from scheduling.day_pages import clinicians_of_day, page_holding, page_of
from scheduling.day_rows import FRONT_DESK_ROW_FIELDS, day_columns
from scheduling.flow import log_listed
from scheduling.forms import (
    BookingForm,
    CalendarSlotForm,
    CancelForm,
    DayForm,
    RescheduleSearchForm,
    SlotChoiceForm,
    SlotSearchForm,
    StepForm,
)
from scheduling.free_time import calendar_columns
from scheduling.models import Appointment
from scheduling.needs_new_time import with_needs_new_time
from scheduling.placing import MOVED_ON, day_url, day_url_for, log_opened, place, refusal
from scheduling.services import (
    NotItsDay,
    SlotTaken,
    StepConflict,
    appointment_advance,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_mark_no_show,
    appointment_reschedule,
)
from scheduling.slots import day_bounds

NOT_ON_THE_DAY = "That clinician has no column on this day; choose one from the list."
NOT_ITS_DAY = (
    "Check-in and no-show are recorded on the appointment's day only; nothing was changed."
)


@group_required(roles.FRONT_DESK)
@sensitive_post_parameters("visit_reason")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, write=True)
    search = _slot_search(request)
    now = timezone.now()
    slots = search.slots(patient_id=patient.pk, now=now) if search.is_valid() else []
    chosen = search.cleaned_data.get("at") if search.is_valid() else None
    form = BookingForm(
        request.POST if request.method == "POST" else None, slots=slots, chosen=chosen
    )
    status, refused = 200, ""
    if request.method == "POST" and search.is_valid() and form.is_valid():
        data = search.cleaned_data
        outcome = place(
            request,
            lambda: appointment_book(
                request=request,
                patient=patient,
                clinician=data["clinician"],
                appointment_type=data["appointment_type"],
                starts_at=form.cleaned_data["starts_at"],
                visit_reason=form.cleaned_data["visit_reason"],
            ),
            success="Appointment booked.",
        )
        if not isinstance(outcome, SlotTaken):
            return outcome
        status, refused = 409, refusal(outcome)
        form = BookingForm(slots=search.slots(patient_id=patient.pk, now=now))
    log_opened(request, patient.pk)
    return render(
        request,
        "scheduling/book.html",
        {
            "patient": patient,
            "search": search,
            "form": form,
            "searched": search.is_bound,
            "refusal": refused,
            "calendar_day": timezone.localdate(chosen) if chosen else None,
        },
        status=status,
    )


def _slot_search(request: HttpRequest) -> SlotSearchForm:
    """The slot search as sent; from the calendar (a clinician and a time, no type yet) the
    clinician and the day come filled in and the type is still to choose."""
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and "appointment_type" not in data and "at" in data:
        slot = CalendarSlotForm(data)
        if slot.is_valid():
            at = slot.cleaned_data["at"]
            return SlotSearchForm(
                initial={
                    "clinician": slot.cleaned_data["clinician"].pk,
                    "at": data["at"],
                    "from_date": timezone.localdate(at),
                }
            )
    return SlotSearchForm(data or None)


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@require_http_methods(["GET"])
def day(request: HttpRequest) -> HttpResponse:
    """The front desk: a page of clinicians (scheduling/day_pages.py), a column each with
    their free time; a clinician: their own column, with the visit reason. Only the shown
    appointments are read, and each patient shown is logged."""
    form = DayForm(request.GET or None)
    chosen = form.day()
    start, end = day_bounds(chosen)
    group = staff_group(request.user)
    listed = appointments_for(request).listed().between(start, end).order_by("starts_at")
    page = None
    if group == roles.FRONT_DESK:
        clinicians = clinicians_of_day(chosen)
        picked = form.picked_clinician()
        if picked is not None:
            number = page_holding(clinicians, picked)
            if number is not None:
                return redirect(f"{day_url(chosen)}&page={number}#clinician-{picked}")
            messages.error(request, NOT_ON_THE_DAY)
        page = page_of(clinicians, form.page_number())
        # The page's clinicians are known: no clinician read with each appointment.
        listed = listed.select_related(None).select_related("patient", "appointment_type")
        listed = listed.only(*FRONT_DESK_ROW_FIELDS)
        listed = with_needs_new_time(listed.filter(clinician_id__in=[c.pk for c in page]))
    appointments = list(listed)
    shown = list(page) if page is not None else None
    may_cancel, shows_reason = group == roles.FRONT_DESK, group == roles.CLINICIAN
    columns = day_columns(
        calendar_columns(appointments, chosen, clinicians=shown),
        steps=StepForm(group=group).fields["status"].choices,  # type: ignore[attr-defined]
        may_cancel=may_cancel,
        shows_reason=shows_reason,
    )
    log_listed(request, appointments)
    return render(
        request,
        "scheduling/day.html",
        {
            "day": chosen,
            "previous_day": chosen - datetime.timedelta(days=1),
            "next_day": chosen + datetime.timedelta(days=1),
            "paged": page is not None,
            "page": page,
            "everyone": page.paginator.object_list if page is not None else [],
            "columns": columns,
            "may_cancel": may_cancel,
            "shows_reason": shows_reason,
        },
    )


@require_POST
@group_required(roles.FRONT_DESK, roles.CLINICIAN, owner=("appointment", "appointment_id"))
def step(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = get_appointment_for_user(request, appointment_id)
    group = staff_group(request.user)
    form = StepForm(request.POST, group=group)
    if not form.is_valid():
        messages.error(request, MOVED_ON)
        return _back(form, appointment)
    status = form.cleaned_data["status"]
    try:
        if status == Appointment.ARRIVED:
            appointment_check_in(request=request, appointment=appointment)
        elif status == Appointment.NO_SHOW:
            appointment_mark_no_show(request=request, appointment=appointment)
        else:
            appointment_advance(request=request, appointment=appointment, status=status)
    except NotItsDay:
        messages.error(request, NOT_ITS_DAY)
    except StepConflict:
        messages.error(request, MOVED_ON)
    else:
        messages.success(request, f"Marked {dict(Appointment.STATUSES)[status].lower()}.")
    return _back(form, appointment)


def _back(form: StepForm, appointment: Appointment) -> HttpResponse:
    """Back to the page the step was taken on (a fixed choice, never a URL from the client)."""
    back = form.cleaned_data.get("back") if hasattr(form, "cleaned_data") else ""
    if back == "home":
        return redirect("home")
    if back == "board":
        return redirect("scheduling:board")
    return redirect(day_url_for(appointment))


@group_required(roles.FRONT_DESK, owner=("appointment", "appointment_id"))
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = get_appointment_for_user(request, appointment_id, write=True)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment_cancel(
                request=request, appointment=appointment, reason=form.cleaned_data["reason"]
            )
        except StepConflict:
            messages.error(request, MOVED_ON)
        else:
            messages.success(request, "Appointment cancelled.")
        return redirect(day_url_for(appointment))
    return render(request, "scheduling/cancel.html", {"appointment": appointment, "form": form})


@group_required(roles.FRONT_DESK, owner=("appointment", "appointment_id"))
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Move a booked appointment to one of its clinician's free times (same length)."""
    appointment = get_appointment_for_user(request, appointment_id, write=True)
    back = day_url_for(appointment)
    if appointment.status != Appointment.BOOKED:
        messages.error(request, MOVED_ON)
        return redirect(back)
    search = RescheduleSearchForm(request.POST if request.method == "POST" else request.GET or None)
    now = timezone.now()
    slots = search.slots(appointment=appointment, now=now)
    form = SlotChoiceForm(request.POST if request.method == "POST" else None, slots=slots)
    status, refused = 200, ""
    if request.method == "POST" and search.is_valid() and form.is_valid():
        starts_at = form.cleaned_data["starts_at"]
        outcome = place(
            request,
            lambda: appointment_reschedule(
                request=request, appointment=appointment, starts_at=starts_at
            ),
            success="Appointment moved.",
            back=back,
        )
        if not isinstance(outcome, SlotTaken):
            return outcome
        status, refused = 409, refusal(outcome)
        form = SlotChoiceForm(slots=search.slots(appointment=appointment, now=now))
    log_opened(request, appointment.patient_id, appointment.pk)
    return render(
        request,
        "scheduling/reschedule.html",
        {"appointment": appointment, "search": search, "form": form, "refusal": refused},
        status=status,
    )
