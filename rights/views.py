"""The right of access (45 CFR 164.524) in the privacy officer's console: open requests by due
date, a new request (the patient found by MRN, POSTed), a request's page with its extension,
exports, hand-over and closing. Every page and step is an access-log event tied to the patient."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from clinic import access_log
from clinic.access import not_found
from patients.models import PatientIdentity
from privacy.access import (
    IDENTITY_COLUMNS,
    get_patient_identity_for_privacy_officer,
    privacy_officer_required,
)
from rights import export_fhir, export_pdf, record_set, services
from rights.access import get_access_request_for_privacy_officer, redirect_to_patient_by_mrn
from rights.forms import AccessRequestForm, CloseForm, ExtensionForm, MrnLookupForm
from rights.models import FHIR, PDF, AccessRequest, AmendmentRequest

RECENTLY_CLOSED = 20


@privacy_officer_required
def request_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    open_requests = list(AccessRequest.objects.open_by_due_date())
    amendments = list(AmendmentRequest.objects.open_by_due_date())
    closed = list(
        AccessRequest.objects.exclude(outcome="open").order_by("-closed_on", "-recorded_at")[
            :RECENTLY_CLOSED
        ]
    )
    # Only the columns the privacy officer may read of an identity (privacy/access.py).
    patients = PatientIdentity.objects.only(*IDENTITY_COLUMNS).in_bulk(
        {r.patient_id for r in open_requests + closed} | {a.patient_id for a in amendments}
    )
    for shown in patients:
        access_log.record(request, access_log.ACCESS_REQUESTS_LISTED, patient_id=shown)

    def row(r: AccessRequest) -> dict[str, object]:
        return {"request": r, "patient": patients[r.patient_id], "overdue": r.is_overdue(today)}

    return render(
        request,
        "rights/request_list.html",
        {
            "rows": [row(r) for r in open_requests],
            "closed": [row(r) for r in closed],
            "amendments": [
                {"amendment": a, "patient": patients[a.patient_id], "overdue": a.is_overdue(today)}
                for a in amendments
            ],
            "today": today,
            "mrn_form": MrnLookupForm(),
            "restriction_mrn_form": MrnLookupForm(auto_id="restriction_%s"),
        },
    )


@require_POST
@sensitive_post_parameters("mrn")
@privacy_officer_required
def patient_find(request: HttpRequest) -> HttpResponse:
    """The patient of a new request, by MRN (POSTed, never in a URL), through the blind index."""
    return redirect_to_patient_by_mrn(request, "rights:request-create")


@sensitive_post_parameters("requested")
@sensitive_variables("form")
@privacy_officer_required
def request_create(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = services.access_request_record(
            request, patient=patient, access_request=form.save(commit=False)
        )
        messages.success(request, f"Request recorded; due {created.due_on:%Y-%m-%d}.")
        return redirect("rights:request-detail", patient_id=patient.pk, request_id=created.pk)
    return render(request, "rights/request_form.html", {"patient": patient, "form": form})


def _detail(
    request: HttpRequest,
    access_request: AccessRequest,
    *,
    extension_form: ExtensionForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, access_request.patient_id)
    access_log.record(
        request,
        access_log.ACCESS_REQUEST_VIEWED,
        patient_id=patient.pk,
        object_id=access_request.pk,
    )
    return render(
        request,
        "rights/request_detail.html",
        {
            "patient": patient,
            "access_request": access_request,
            "overdue": access_request.is_overdue(),
            "may_extend": access_request.may_extend
            and timezone.localdate() <= access_request.due_on,
            "extension_form": extension_form or ExtensionForm(access_request=access_request),
            "close_form": close_form or CloseForm(access_request=access_request),
            "exports": [fmt for fmt in (PDF, FHIR) if access_request.wants(fmt)],
        },
        status=status,
    )


@privacy_officer_required
def request_detail(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    return _detail(request, get_access_request_for_privacy_officer(request, patient_id, request_id))


@require_POST
@sensitive_post_parameters("reason")
@sensitive_variables("form")
@privacy_officer_required
def request_extend(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    access_request = get_access_request_for_privacy_officer(request, patient_id, request_id)
    form = ExtensionForm(request.POST, access_request=access_request)
    if not form.is_valid():
        return _detail(request, access_request, extension_form=form, status=400)
    services.access_request_extend(
        request, access_request=access_request, reason=form.cleaned_data["reason"]
    )
    messages.success(request, f"Extended once; now due {access_request.due_on:%Y-%m-%d}.")
    return redirect("rights:request-detail", patient_id=patient_id, request_id=request_id)


@require_POST
@privacy_officer_required
def request_export(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID, export_format: str
) -> HttpResponse:
    """Produce one export of the designated record set, in memory, and send it; its SHA-256 is
    stored on the request and in the access-log event (POST: producing changes the request)."""
    access_request = get_access_request_for_privacy_officer(request, patient_id, request_id)
    if export_format not in (PDF, FHIR) or not access_request.wants(export_format):
        raise not_found(request, patient_id=patient_id, object_id=request_id)
    if not access_request.is_open:
        messages.error(request, "This request is closed: no export is produced for it.")
        return redirect("rights:request-detail", patient_id=patient_id, request_id=request_id)
    data = record_set.record_set(access_request)
    if export_format == PDF:
        content, content_type, suffix = export_pdf.pdf_bytes(data), "application/pdf", "pdf"
    else:
        content, content_type, suffix = export_fhir.fhir_json(data), "application/fhir+json", "json"
    services.access_export_produced(
        request, access_request=access_request, export_format=export_format, content=content
    )
    # The file name names the request, never the patient.
    return attachment(
        content, content_type, f"record-{access_request.pk}-{data.produced_on:%Y%m%d}.{suffix}"
    )


def attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A produced record as a download, never cached (`filename`: ids and dates only)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@privacy_officer_required
def request_hand_over(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    access_request = get_access_request_for_privacy_officer(request, patient_id, request_id)
    if not access_request.is_open or access_request.handed_over_on is not None:
        messages.error(request, "The hand-over is already recorded, or the request is closed.")
    elif not (access_request.pdf_sha256 or access_request.fhir_sha256):
        messages.error(request, "Produce the export before recording its hand-over.")
    else:
        services.access_export_hand_over(request, access_request=access_request)
        messages.success(request, "Hand-over recorded, and listed as a disclosure to the patient.")
    return redirect("rights:request-detail", patient_id=patient_id, request_id=request_id)


@require_POST
@sensitive_post_parameters("note")
@sensitive_variables("form")
@privacy_officer_required
def request_close(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> HttpResponse:
    access_request = get_access_request_for_privacy_officer(request, patient_id, request_id)
    form = CloseForm(request.POST, access_request=access_request)
    if not form.is_valid():
        return _detail(request, access_request, close_form=form, status=400)
    services.access_request_close(
        request,
        access_request=access_request,
        outcome=form.cleaned_data["outcome"],
        denial_ground=form.cleaned_data["denial_ground"],
        note=form.cleaned_data["note"].strip(),
    )
    messages.success(request, f"Request closed: {access_request.get_outcome_display()}.")
    return redirect("rights:request-list")
