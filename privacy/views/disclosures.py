"""Accounting of disclosures (45 CFR 164.528): record a disclosure, record a 164.528(a)(2)
suspension on it, print a patient's accounting."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from clinic import access_log
from clinic.access import not_found
from privacy.access import (
    get_patient_identity_for_privacy_officer,
    privacy_officer_required,
)
from privacy.forms import DisclosureForm, SuspensionForm
from privacy.models import ACCOUNTING_YEARS, Disclosure, accounting_period_start
from rights.restriction_services import active_restrictions


@privacy_officer_required
def disclosure_list(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Every recorded disclosure, excluded categories too (marked)."""
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    disclosures = Disclosure.objects.filter(patient_id=patient.pk).order_by("-disclosed_on")
    access_log.record(request, access_log.ACCESS_REPORT_VIEWED, patient_id=patient.pk)
    today = timezone.localdate()
    rows = [{"disclosure": d, "suspended": d.is_suspended(today)} for d in disclosures]
    return render(request, "privacy/disclosure_list.html", {"patient": patient, "rows": rows})


@sensitive_post_parameters("recipient", "recipient_address", "description", "purpose")
@sensitive_variables("form")
@privacy_officer_required
def disclosure_create(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    # 164.522(a): the patient's agreed restrictions in force; one that covers the category
    # needs the explicit confirmation (the form), and each confirmed is an event of its own.
    restrictions = active_restrictions(patient.pk)
    form = DisclosureForm(request.POST or None, restrictions=restrictions)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            disclosure = form.save(commit=False)
            disclosure.patient_id = patient.pk
            disclosure.recorded_by_id = request.user.pk
            disclosure.save()
            access_log.record(
                request,
                access_log.DISCLOSURE_RECORDED,
                patient_id=patient.pk,
                object_id=disclosure.pk,
                reason=disclosure.category,
            )
            for restriction in form.covering:
                access_log.record(
                    request,
                    access_log.RESTRICTION_OVERRIDDEN,
                    patient_id=patient.pk,
                    object_id=restriction.pk,
                    reason=f"disclosure {disclosure.pk}",
                )
        messages.success(request, "Disclosure recorded.")
        return redirect("privacy:disclosure-list", patient_id=patient.pk)
    return render(
        request,
        "privacy/disclosure_form.html",
        {"patient": patient, "form": form, "restrictions": restrictions},
    )


@privacy_officer_required
def disclosure_accounting(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The printable accounting for the individual: six years, 164.528(a)(1) exclusions left out."""
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    today = timezone.localdate()
    disclosures = Disclosure.objects.accounting_for(patient.pk, today)
    access_log.record(request, access_log.DISCLOSURE_ACCOUNTING, patient_id=patient.pk)
    return render(
        request,
        "privacy/disclosure_accounting.html",
        {
            "patient": patient,
            "disclosures": disclosures,
            "period_start": accounting_period_start(today),
            "today": today,
            "years": ACCOUNTING_YEARS,
        },
    )


@sensitive_post_parameters("suspension_statement")
@sensitive_variables("form")
@privacy_officer_required
def disclosure_suspend(
    request: HttpRequest, patient_id: uuid.UUID, disclosure_id: uuid.UUID
) -> HttpResponse:
    """Record (or replace, e.g. when the written statement follows an oral one) the statement
    that suspends the patient's right to an accounting of this disclosure."""
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    try:
        disclosure = Disclosure.objects.get(pk=disclosure_id, patient_id=patient.pk)
    except Disclosure.DoesNotExist:
        raise not_found(request, patient_id=patient.pk, object_id=disclosure_id) from None
    form = SuspensionForm(request.POST or None, instance=disclosure)
    if request.method == "POST" and form.is_valid():
        suspension = form.save(commit=False)
        suspension.suspension_recorded_by_id = request.user.pk
        suspension.save(update_fields=[*SuspensionForm.Meta.fields, "suspension_recorded_by"])
        access_log.record(
            request,
            access_log.DISCLOSURE_SUSPENDED,
            patient_id=patient.pk,
            object_id=disclosure.pk,
            reason=suspension.suspension_kind,
        )
        messages.success(
            request,
            f"Left out of the accounting until {suspension.suspended_until:%Y-%m-%d}.",
        )
        return redirect("privacy:disclosure-list", patient_id=patient.pk)
    return render(
        request,
        "privacy/disclosure_suspend.html",
        {"patient": patient, "disclosure": disclosure, "form": form},
    )
