"""Access rules of the rights pages (access, amendment, restriction, confidential
communications): the privacy officer, nobody else (403, logged; privacy/access.py). Every object
is fetched by its id and its patient's together (404, logged, otherwise), through one helper per
model; a new request's patient is found by MRN, POSTed, never in a URL."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clinic.access import not_found
from patients.models import PatientIdentity
from rights.forms import MrnLookupForm
from rights.models import AccessRequest, AmendmentRequest
from rights.restriction_models import ConfidentialCommunication, Restriction

M = TypeVar("M", bound=models.Model)


def _of_patient(
    request: HttpRequest, model: type[M], patient_id: uuid.UUID, object_id: uuid.UUID
) -> M:
    try:
        return model._default_manager.get(pk=object_id, patient_id=patient_id)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise not_found(request, patient_id=patient_id, object_id=object_id) from None


def get_access_request_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> AccessRequest:
    return _of_patient(request, AccessRequest, patient_id, request_id)


def get_amendment_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID, amendment_id: uuid.UUID
) -> AmendmentRequest:
    return _of_patient(request, AmendmentRequest, patient_id, amendment_id)


def get_restriction_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID, restriction_id: uuid.UUID
) -> Restriction:
    return _of_patient(request, Restriction, patient_id, restriction_id)


def get_communication_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> ConfidentialCommunication:
    return _of_patient(request, ConfidentialCommunication, patient_id, communication_id)


def redirect_to_patient_by_mrn(request: HttpRequest, view_name: str) -> HttpResponse:
    """The patient of the POSTed MRN, through the blind index: on to `view_name` for that
    patient, or back to the rights console saying none has that MRN."""
    form = MrnLookupForm(request.POST)
    if form.is_valid():
        found = PatientIdentity.objects.by_mrn(form.cleaned_data["mrn"].strip())
        patient_id = next(iter(found.values_list("patient_id", flat=True)), None)
        if patient_id is not None:
            return redirect(view_name, patient_id=patient_id)
    messages.error(request, "No patient has that medical record number.")
    return redirect("rights:request-list")
