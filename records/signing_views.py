"""Signing a visit note, adding addenda, and the author's list of unsigned notes
(docs/notes.md). Fetch -> form -> save -> redirect; the database refuses the same things again
(records/db_signing.py): a note signed by anyone but its author, any change to a signed note,
an addendum by anyone who may not see the visit.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clinic import access_log, roles
from clinic.access import group_required, refuse
from patients.models import SHOWN_AS_NAME, not_shown_through
from records.access import get_record_for_user, refuse_outside_care_team
from records.forms import AddendumForm, SignForm
from records.services import RecordConflict, addendum_add, record_sign
from records.unsigned import unsigned_notes
from records.visit_views import detail_context

REASON_NOT_AUTHOR = "not the author"
# A clinician far behind (or a benchmark's unsigned year: 22,000 visits) gets pages, not one
# page of every note with an access-log event for each.
UNSIGNED_PER_PAGE = 50


@group_required(roles.CLINICIAN)
@require_POST
@refuse_outside_care_team
def visit_sign(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    record = get_record_for_user(request, record_id)
    if record.provider_id != request.user.pk:
        raise refuse(
            request, patient_id=record.patient_id, object_id=record.pk, reason=REASON_NOT_AUTHOR
        )
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note could not be signed. Nothing was changed.")
        return redirect("records:visit-detail", record_id=record.pk)
    try:
        record_sign(
            record=record, signer=request.user, expected_version=form.cleaned_data["version"]
        )
    except RecordConflict as conflict:
        if conflict.current is not None and conflict.current.is_signed:
            messages.info(request, "This note is already signed.")
        else:
            messages.error(
                request,
                "The note changed since you opened it and was not signed. "
                "Read it again, then sign.",
            )
        return redirect("records:visit-detail", record_id=record.pk)
    access_log.record(
        request, access_log.NOTE_SIGNED, patient_id=record.patient_id, object_id=record.pk
    )
    messages.success(request, "Note signed. Corrections from now on are addenda.")
    return redirect("records:visit-detail", record_id=record.pk)


@group_required(roles.CLINICIAN)
@require_POST
@refuse_outside_care_team
def addendum_new(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    record = get_record_for_user(request, record_id)
    if not record.is_signed:
        messages.error(request, "An unsigned note is edited, not amended. Nothing was added.")
        return redirect("records:visit-detail", record_id=record.pk)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        access_log.record(
            request, access_log.RECORD_VIEWED, patient_id=record.patient_id, object_id=record.pk
        )
        return render(
            request,
            "records/visit_detail.html",
            detail_context(request, record, addendum_form=form),
            status=400,
        )
    addendum = addendum_add(record=record, author=request.user, text=form.cleaned_data["text"])
    access_log.record(
        request, access_log.ADDENDUM_ADDED, patient_id=record.patient_id, object_id=addendum.pk
    )
    messages.success(request, "Addendum added and signed.")
    return redirect("records:visit-detail", record_id=record.pk)


@group_required(roles.CLINICIAN)
def unsigned_notes_list(request: HttpRequest) -> HttpResponse:
    """The signed-in clinician's visits still unsigned UNSIGNED_NOTE_DAYS after the visit,
    oldest first, UNSIGNED_PER_PAGE at a time (the URL carries a page number only); each patient
    shown is an access-log event, the others are not read. Of the patient, only the name the
    list shows is read and decrypted."""
    visits = (
        unsigned_notes(request.user)
        .select_related("patient")
        .defer(*not_shown_through("patient", SHOWN_AS_NAME))
    )
    page = Paginator(visits, UNSIGNED_PER_PAGE).get_page(request.GET.get("page"))
    for visit in page.object_list:
        access_log.record(
            request,
            access_log.UNSIGNED_NOTES_LISTED,
            patient_id=visit.patient_id,
            object_id=visit.pk,
        )
    return render(
        request,
        "records/unsigned_notes.html",
        {"visits": page.object_list, "page": page, "days": settings.UNSIGNED_NOTE_DAYS},
    )
