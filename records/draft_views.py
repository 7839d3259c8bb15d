"""Saving, restoring and discarding visit note drafts (records/drafts.py says why)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinic import access_log, roles
from clinic.access import group_required
from patients.models import PatientIdentity
from records.access import NotOnCareTeam, get_patient_for_clinician
from records.drafts import DRAFT_MAX_LENGTH, VisitNoteDraft

# The autosave shows nothing of the patient: only the id is read, nothing decrypted.
ONLY_THE_ID = ("patient_id",)


class DraftForm(forms.Form):
    patient_id = forms.UUIDField()
    record_id = forms.UUIDField(required=False)
    visit_date = forms.CharField(max_length=40, required=False, strip=False)
    diagnosis_code = forms.CharField(max_length=100, required=False, strip=False)
    notes = forms.CharField(max_length=DRAFT_MAX_LENGTH, required=False, strip=False)


def _mine(request: HttpRequest, patient: PatientIdentity, record_id: Any):
    return VisitNoteDraft.objects.filter(
        staff_id=request.user.pk, patient=patient, record_id=record_id
    )


@require_POST
@never_cache
@group_required(roles.CLINICIAN)
def save(request: HttpRequest) -> JsonResponse:
    form = DraftForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"saved": False}, status=400)
    data = form.cleaned_data
    try:
        patient = get_patient_for_clinician(request, data["patient_id"], ONLY_THE_ID)
    except NotOnCareTeam:  # logged as a refusal for the patient
        return JsonResponse({"saved": False}, status=403)
    record_id = data["record_id"]
    if record_id is not None and not patient.records.filter(pk=record_id).exists():
        return JsonResponse({"saved": False}, status=404)
    typed = {key: data[key] for key in ("visit_date", "diagnosis_code", "notes")}
    with transaction.atomic():
        draft = _mine(request, patient, record_id).select_for_update().first()
        if draft is None:
            draft = VisitNoteDraft(patient=patient, record_id=record_id)
            draft.staff_id = int(request.user.pk or 0)  # signed in (group_required)
        for key, value in typed.items():
            setattr(draft, key, value)
        draft.save()
        access_log.record(
            request, access_log.DRAFT_SAVED, patient_id=patient.pk, object_id=draft.pk
        )
    return JsonResponse({"saved": True})


def restore(
    request: HttpRequest, patient: PatientIdentity, record_id: Any = None
) -> dict[str, str] | None:
    """The signed-in clinician's draft of this form (logged), as form data; None without one."""
    draft = _mine(request, patient, record_id).first()
    if draft is None:
        return None
    access_log.record(request, access_log.DRAFT_RESTORED, patient_id=patient.pk, object_id=draft.pk)
    return {
        "visit_date": draft.visit_date,
        "diagnosis_code": draft.diagnosis_code,
        "notes": draft.notes,
        "saved_at": timezone.localtime(draft.saved_at).strftime("%Y-%m-%d %H:%M"),
    }


def discard(request: HttpRequest, patient: PatientIdentity, record_id: Any = None) -> None:
    """The visit was saved: its draft is spent."""
    _mine(request, patient, record_id).delete()
