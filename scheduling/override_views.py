"""Booking or moving an appointment outside a clinician's working time (an override), by the
front desk only, with a reason category: fetch -> form -> save -> redirect.

Booking is reached from the booking page once a clinician and a type are chosen (their ids in
the URL, nothing else); moving, from an appointment's reschedule page (its UUID). The database
allows either for the front desk's role only, never in time off, and keeps why
(`override_reason`) while the time lies outside working time (scheduling/db_checks.py); each is
logged twice: `appointment_booked` or `appointment_rescheduled`, and `appointment_override`
(reason: the category).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from clinic import roles
from clinic.access import group_required
from patients.access import get_patient_for_user
from scheduling.access import get_appointment_for_user
from scheduling.forms import OutsideHoursForm, OutsideHoursTimeForm, SlotSearchForm
from scheduling.models import Appointment
from scheduling.placing import CLINICIAN_BUSY, MOVED_ON, day_url_for, log_opened, place, refusal
from scheduling.services import SlotTaken, appointment_book, appointment_reschedule


@group_required(roles.FRONT_DESK)
@sensitive_post_parameters("visit_reason")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def book_outside_hours(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, write=True)
    back = reverse("scheduling:book", kwargs={"patient_id": patient.pk})
    choice = SlotSearchForm(request.GET)
    if not choice.is_valid():
        messages.error(request, "Choose the clinician and the appointment type first.")
        return redirect(back)
    clinician = choice.cleaned_data["clinician"]
    appointment_type = choice.cleaned_data["appointment_type"]
    form = OutsideHoursForm(
        request.POST if request.method == "POST" else None,
        clinician_id=clinician.pk,
        minutes=appointment_type.default_minutes,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        outcome = place(
            request,
            lambda: appointment_book(
                request=request,
                patient=patient,
                clinician=clinician,
                appointment_type=appointment_type,
                starts_at=form.cleaned_data["starts_at"],
                visit_reason=form.cleaned_data["visit_reason"],
                override_reason=form.cleaned_data["override_reason"],
            ),
            success="Appointment booked outside working time.",
        )
        if not isinstance(outcome, SlotTaken):
            return outcome
        status = 409
        form.add_error(None, refusal(outcome, otherwise=CLINICIAN_BUSY))
    log_opened(request, patient.pk)
    return render(
        request,
        "scheduling/book_outside_hours.html",
        {
            "patient": patient,
            "clinician": clinician,
            "appointment_type": appointment_type,
            "form": form,
            "back": f"{back}?{request.GET.urlencode()}",
        },
        status=status,
    )


@group_required(roles.FRONT_DESK, owner=("appointment", "appointment_id"))
@require_http_methods(["GET", "POST"])
def reschedule_outside_hours(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Move a booked appointment (same clinician, same length) to a time outside working time."""
    appointment = get_appointment_for_user(request, appointment_id, write=True)
    back = day_url_for(appointment)
    if appointment.status != Appointment.BOOKED:
        messages.error(request, MOVED_ON)
        return redirect(back)
    length = appointment.ends_at - appointment.starts_at
    form = OutsideHoursTimeForm(
        request.POST if request.method == "POST" else None,
        clinician_id=appointment.clinician_id,
        minutes=int(length.total_seconds() // 60),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        outcome = place(
            request,
            lambda: appointment_reschedule(
                request=request,
                appointment=appointment,
                starts_at=form.cleaned_data["starts_at"],
                override_reason=form.cleaned_data["override_reason"],
            ),
            success="Appointment moved outside working time.",
            back=back,
        )
        if not isinstance(outcome, SlotTaken):
            return outcome
        status = 409
        form.add_error(None, refusal(outcome, otherwise=CLINICIAN_BUSY))
    log_opened(request, appointment.patient_id, appointment.pk)
    return render(
        request,
        "scheduling/reschedule_outside_hours.html",
        {"appointment": appointment, "form": form},
        status=status,
    )
