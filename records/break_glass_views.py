"""Break the glass: a clinician refused a patient asks for time-boxed emergency access."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts import mfa
from accounts.signals import sign_out
from clinic import access_log, roles
from clinic.access import not_found, refuse, require_group
from clinic.refused_patient import refused_patient_id
from clinic.staff import staff_group
from patients.access import get_patient_for_user
from records.break_glass import active_grants, break_glass_end, break_glass_start, is_on_care_team
from records.break_glass_forms import BreakGlassForm
from records.models import BreakGlassGrant


def get_break_glass_grant_for_user(request: HttpRequest, grant_id: uuid.UUID) -> BreakGlassGrant:
    """A clinician's own grant; anyone else's is 'not found' (and the attempt is logged)."""
    if staff_group(request.user) != roles.CLINICIAN:
        patient_id = refused_patient_id("break_glass_grant", grant_id)
        raise refuse(request, patient_id=patient_id, object_id=grant_id)
    try:
        return BreakGlassGrant.objects.get(pk=grant_id, staff_id=request.user.pk)
    except BreakGlassGrant.DoesNotExist:
        # Another clinician's grant is "not found" too, logged with its patient.
        patient_id = refused_patient_id("break_glass_grant", grant_id)
        raise not_found(request, patient_id=patient_id, object_id=grant_id) from None


@sensitive_post_parameters("password", "reason_text")
@sensitive_variables("form")
@login_required
def start(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    require_group(request, {roles.CLINICIAN}, patient_id=patient_id)
    patient = get_patient_for_user(request, patient_id)
    if request.method == "GET":
        # Both pages show the patient's name and MRN: every page that shows a patient is logged.
        access_log.record(
            request, access_log.CHART_VIEWED, patient_id=patient.pk, reason="break_glass_form"
        )
    if is_on_care_team(patient):
        return render(request, "records/break_glass_not_needed.html", {"patient": patient})
    needs_code = mfa.has_device(request.user)
    if request.method == "POST" and needs_code:
        mfa.hold_code_checks(request.user)
    form = BreakGlassForm(
        request.POST or None, request=request, needs_code=needs_code, initial=_initial(request)
    )
    existing = active_grants(request.user).filter(patient=patient).first()
    if request.method == "POST" and existing is None:
        if form.is_valid():
            grant = break_glass_start(
                request=request,
                staff=request.user,
                patient=patient,
                reason_category=form.cleaned_data["reason_category"],
                reason_text=form.cleaned_data["reason_text"].strip(),
            )
            messages.warning(
                request,
                "Emergency access granted until "
                f"{timezone.localtime(grant.expires_at):%H:%M}. This access will be reviewed.",
            )
            return redirect(form.cleaned_data["next"] or "home")
        if form.locked:
            return mfa.end_partial_sign_in(request)
        if getattr(request, "axes_locked_out", False):
            # Too many wrong passwords: the account is locked, so the session ends as well.
            sign_out(request, "locked_out")
    return render(
        request,
        "records/break_glass_start.html",
        {"patient": patient, "form": form, "existing": existing},
    )


def _initial(request: HttpRequest) -> dict[str, str]:
    # Only a local path is kept (BreakGlassForm.clean_next); links carry UUIDs, never PHI.
    return {"next": request.GET.get("next", "")[:300]}


@login_required
def end(request: HttpRequest, grant_id: uuid.UUID) -> HttpResponse:
    grant = get_break_glass_grant_for_user(request, grant_id)
    if request.method == "POST":
        break_glass_end(request=request, grant=grant)
        messages.success(request, "Emergency access ended.")
        return redirect("home")
    return render(request, "records/break_glass_end.html", {"grant": grant})
