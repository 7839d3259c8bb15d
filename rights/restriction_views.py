"""Restrictions on uses and disclosures (45 CFR 164.522(a)), in the privacy officer's console:
find the patient by MRN (POSTed, never in a URL), list and record a patient's restrictions with
the clinic's decision, view one, end an agreed one; on the same page the patient's confidential
communications (164.522(b)): record an alternative contact, end it. Every page and step is an
access-log event tied to the patient; refusals are 403/404 with an event."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from clinic import access_log
from patients.models import PatientIdentity
from privacy.access import get_patient_identity_for_privacy_officer, privacy_officer_required
from rights import restriction_services as services
from rights.access import (
    get_communication_for_privacy_officer,
    get_restriction_for_privacy_officer,
    redirect_to_patient_by_mrn,
)
from rights.restriction_forms import CommunicationForm, EndForm, RestrictionForm
from rights.restriction_models import ConfidentialCommunication, Restriction


@require_POST
@sensitive_post_parameters("mrn")
@privacy_officer_required
def restriction_find(request: HttpRequest) -> HttpResponse:
    return redirect_to_patient_by_mrn(request, "rights:restriction-list")


def _list(
    request: HttpRequest,
    patient: PatientIdentity,
    form: RestrictionForm,
    communication_form: CommunicationForm | None = None,
) -> HttpResponse:
    # The list names the category; the detail (encrypted) is read on the restriction's page.
    restrictions = list(
        Restriction.objects.filter(patient_id=patient.pk)
        .defer("detail")
        .order_by("-decided_on", "-recorded_at")
    )
    communications = list(
        ConfidentialCommunication.objects.filter(patient_id=patient.pk).order_by(
            "ended_on", "-recorded_at"
        )
    )
    in_force = next((c for c in communications if c.ended_on is None), None)
    access_log.record(request, access_log.RESTRICTIONS_LISTED, patient_id=patient.pk)
    bad = request.method == "POST"
    return render(
        request,
        "rights/restriction_list.html",
        {
            "patient": patient,
            "restrictions": restrictions,
            "form": form,
            "communications": communications,
            "in_force": in_force,
            "communication_form": communication_form or (None if in_force else CommunicationForm()),
        },
        status=400 if bad else 200,
    )


@sensitive_post_parameters("detail")
@sensitive_variables("form")
@privacy_officer_required
def restriction_list(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The patient's restrictions (agreed, refused, ended), and the form to record a new one."""
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    form = RestrictionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = services.restriction_record(
            request,
            restriction=Restriction(
                patient_id=patient.pk,
                received_on=data["received_on"],
                category=data["category"],
                detail=data["detail"],
                decision=data["decision"],
            ),
        )
        messages.success(request, f"Restriction recorded: {created.get_decision_display()}.")
        return redirect("rights:restriction-list", patient_id=patient.pk)
    return _list(request, patient, form)


def _detail(
    request: HttpRequest, restriction: Restriction, form: EndForm | None = None, status: int = 200
) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, restriction.patient_id)
    access_log.record(
        request,
        access_log.RESTRICTION_VIEWED,
        patient_id=patient.pk,
        object_id=restriction.pk,
    )
    if form is None and restriction.is_active:
        form = EndForm(category=restriction.category)
    return render(
        request,
        "rights/restriction_detail.html",
        {"patient": patient, "restriction": restriction, "form": form},
        status=status,
    )


@privacy_officer_required
def restriction_detail(
    request: HttpRequest, patient_id: uuid.UUID, restriction_id: uuid.UUID
) -> HttpResponse:
    return _detail(
        request, get_restriction_for_privacy_officer(request, patient_id, restriction_id)
    )


@require_POST
@privacy_officer_required
def restriction_end(
    request: HttpRequest, patient_id: uuid.UUID, restriction_id: uuid.UUID
) -> HttpResponse:
    restriction = get_restriction_for_privacy_officer(request, patient_id, restriction_id)
    if not restriction.is_active:
        messages.error(request, "Only an agreed restriction in force can end. Nothing changed.")
        return redirect(
            "rights:restriction-detail", patient_id=patient_id, restriction_id=restriction_id
        )
    form = EndForm(request.POST, category=restriction.category)
    if not form.is_valid():
        return _detail(request, restriction, form=form, status=400)
    services.restriction_end(request, restriction=restriction, how=form.cleaned_data["how"])
    messages.success(request, "Restriction ended.")
    return redirect(
        "rights:restriction-detail", patient_id=patient_id, restriction_id=restriction_id
    )


# --- Confidential communications, 164.522(b) ----------------------------------------------------


@require_POST
@sensitive_post_parameters("alt_address", "alt_phone")
@sensitive_variables("form")
@privacy_officer_required
def communication_create(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    if ConfidentialCommunication.objects.filter(patient_id=patient.pk, ended_on__isnull=True):
        messages.error(request, "End the confidential communications in force first.")
        return redirect("rights:restriction-list", patient_id=patient.pk)
    form = CommunicationForm(request.POST)
    if not form.is_valid():
        return _list(request, patient, RestrictionForm(), communication_form=form)
    data = form.cleaned_data
    services.communication_record(
        request,
        communication=ConfidentialCommunication(
            patient_id=patient.pk,
            requested_on=data["requested_on"],
            alt_address=data["alt_address"],
            alt_phone=data["alt_phone"],
            use_instead=data["use_instead"],
        ),
    )
    messages.success(request, "Confidential communications recorded.")
    return redirect("rights:restriction-list", patient_id=patient.pk)


@require_POST
@privacy_officer_required
def communication_end(
    request: HttpRequest, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> HttpResponse:
    communication = get_communication_for_privacy_officer(request, patient_id, communication_id)
    if communication.ended_on is None:
        services.communication_end(request, communication=communication)
        messages.success(request, "Confidential communications ended.")
    return redirect("rights:restriction-list", patient_id=patient_id)
