"""Visits of a patient: list, new, detail, edit (with optimistic locking).

Fetch -> form -> save -> redirect. The front desk sees visit dates and providers only (column
grants: the queries below never name another column for them); clinicians see full records of
their own patients, and row-level security enforces the same in the database.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinic import access_log, roles
from clinic.access import group_required, refuse
from patients.models import SHOWN_IN_HEADER, SHOWN_IN_VISIT_FORM
from records import draft_views, icd10
from records.access import (
    get_chart_for_user,
    get_patient_for_clinician,
    get_record_for_user,
    refuse_outside_care_team,
)
from records.forms import AddendumForm, SignForm, VisitEditForm, VisitForm
from records.models import ClinicalRecord, VisitAddendum
from records.services import RecordConflict, record_create, record_update

REASON_SIGNED = "note signed"
# What the front desk may read of a visit (its column grants on clinical_records).
FRONT_DESK_COLUMNS = ("record_id", "patient_id", "provider_id", "visit_date")


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@refuse_outside_care_team
def visit_list(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_for_user(request, patient_id, SHOWN_IN_HEADER)
    visits = ClinicalRecord.objects.for_patient(chart.patient).select_related("provider")
    if chart.clinical:
        # The list never shows notes: do not fetch and decrypt them for every visit.
        visits = visits.defer("notes")
        access_log.record(request, access_log.RECORD_VIEWED, patient_id=patient_id)
    else:
        visits = visits.only(
            *FRONT_DESK_COLUMNS, "provider__username", "provider__first_name", "provider__last_name"
        )
        # The front desk may not read created_at (column grants): order by what it may read.
        visits = visits.order_by("-visit_date", "record_id")
        access_log.record(request, access_log.CHART_VIEWED, patient_id=patient_id)
    rows = [
        {
            "visit": visit,
            "description": icd10.description(visit.diagnosis_code) if chart.clinical else "",
        }
        for visit in visits
    ]
    return render(
        request,
        "records/visit_list.html",
        {"patient": chart.patient, "clinical": chart.clinical, "rows": rows},
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def visit_new(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_clinician(request, patient_id, SHOWN_IN_VISIT_FORM, with_facts=True)
    draft = draft_views.restore(request, patient) if request.method == "GET" else None
    form = VisitForm(request.POST or None, initial=draft, patient=patient)
    if request.method == "POST" and form.is_valid():
        record = record_create(patient=patient, provider=request.user, **form.cleaned_data)
        draft_views.discard(request, patient)
        access_log.record(
            request, access_log.RECORD_CREATED, patient_id=patient.pk, object_id=record.pk
        )
        messages.success(request, "Visit saved.")
        return redirect("records:visit-detail", record_id=record.pk)
    if request.method == "GET":
        # The form shows the patient: logged like every page that does.
        access_log.record(
            request, access_log.CHART_VIEWED, patient_id=patient.pk, reason="visit_form"
        )
    return render(
        request, "records/visit_form.html", {"patient": patient, "form": form, "draft": draft}
    )


@login_required
@refuse_outside_care_team
def visit_detail(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    record = get_record_for_user(request, record_id)
    access_log.record(
        request, access_log.RECORD_VIEWED, patient_id=record.patient_id, object_id=record.pk
    )
    return render(request, "records/visit_detail.html", detail_context(request, record))


def detail_context(
    request: HttpRequest, record: ClinicalRecord, addendum_form: AddendumForm | None = None
) -> dict:
    """The visit page: the note, its addenda in order, and what this clinician may do next
    (edit and sign an unsigned note of their own; add an addendum to a signed one)."""
    is_author = record.provider_id == request.user.pk
    return {
        "record": record,
        "patient": record.patient,
        "description": icd10.description(record.diagnosis_code),
        "addenda": VisitAddendum.objects.for_record(record).select_related("author"),
        "may_sign": is_author and not record.is_signed,
        "sign_form": SignForm(initial={"version": record.version}),
        "addendum_form": addendum_form or AddendumForm(),
    }


@login_required
@refuse_outside_care_team
def visit_edit(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    record = get_record_for_user(request, record_id)
    patient = record.patient
    if record.is_signed:
        # Signed notes never change (the database refuses too); corrections are addenda.
        raise refuse(request, patient_id=patient.pk, object_id=record.pk, reason=REASON_SIGNED)
    initial = {
        "visit_date": record.visit_date,
        "diagnosis_code": record.diagnosis_code,
        "notes": record.notes,
        "version": record.version,
    }
    draft = draft_views.restore(request, patient, record.pk) if request.method == "GET" else None
    form = VisitEditForm(
        request.POST or None, initial={**initial, **(draft or {})}, patient=patient
    )
    context = {"patient": patient, "record": record, "form": form, "draft": draft}
    if request.method != "POST":
        access_log.record(
            request, access_log.RECORD_VIEWED, patient_id=patient.pk, object_id=record.pk
        )
        return render(request, "records/visit_form.html", context)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            record_update(record=record, expected_version=data.pop("version"), **data)
        except RecordConflict as conflict:
            return _conflict(request, form, context, conflict.current)
        draft_views.discard(request, patient, record.pk)
        access_log.record(
            request, access_log.RECORD_CHANGED, patient_id=patient.pk, object_id=record.pk
        )
        messages.success(request, "Visit updated.")
        return redirect("records:visit-detail", record_id=record.pk)
    return render(request, "records/visit_form.html", context)


def _conflict(
    request: HttpRequest, form: VisitEditForm, context: dict, current: ClinicalRecord | None
) -> HttpResponse:
    """409: keep everything the editor typed, show what is saved now, and let them save again
    deliberately (the form now carries the current version). A note signed meanwhile cannot be
    saved at all: a message says so, and the text typed stays in the form to copy into an
    addendum."""
    if current is not None and current.is_signed:
        messages.error(
            request,
            "This note was signed while you were editing it and can no longer be changed. "
            "Nothing was saved; copy what you need into an addendum on the visit page.",
        )
    if current is not None:
        data = request.POST.copy()
        data["version"] = str(current.version)
        form.data = data
    return render(
        request,
        "records/visit_form.html",
        {
            **context,
            "conflict": True,
            "current": current,
            "current_description": icd10.description(current.diagnosis_code) if current else "",
        },
        status=409,
    )
