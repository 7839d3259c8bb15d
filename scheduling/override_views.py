"""Booking outside a clinician's working time (an override), by the front desk only, with a
reason category: fetch -> form -> save -> redirect.

Reached from the booking page once a clinician and a type are chosen (their ids in the URL,
nothing else). The database allows such a booking for the front desk's role only, never in
time off, and keeps who (`booked_by`) and why (`override_reason`) for good
(scheduling/db_checks.py); the booking is logged twice: `appointment_booked` and
`appointment_override` (reason: the category).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from clinic import access_log, roles
from clinic.access import group_required
from patients.access import get_patient_for_user
from scheduling.forms import OutsideHoursForm, SlotSearchForm
from scheduling.services import SlotTaken, appointment_book
from scheduling.views import PATIENT_BUSY, day_url

CLINICIAN_BUSY = "The clinician already has an appointment at that time. Choose another time."


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
        clinician=clinician,
        appointment_type=appointment_type,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            appointment = appointment_book(
                request=request,
                patient=patient,
                clinician=clinician,
                appointment_type=appointment_type,
                starts_at=form.cleaned_data["starts_at"],
                visit_reason=form.cleaned_data["visit_reason"],
                override_reason=form.cleaned_data["override_reason"],
            )
        except SlotTaken as taken:
            status = 409
            form.add_error(None, PATIENT_BUSY if taken.patient_busy else CLINICIAN_BUSY)
        else:
            messages.success(request, "Appointment booked outside working time.")
            return redirect(day_url(timezone.localtime(appointment.starts_at).date()))
    if request.method == "GET":
        access_log.record(request, access_log.CHART_VIEWED, patient_id=patient.pk)
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
