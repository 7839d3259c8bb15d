"""Access rules of the privacy officer's console: the Privacy officer group, nobody else."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from clinic import access_log, roles
from clinic.staff import staff_group
from patients.models import PatientIdentity

# The columns the privacy officer may read (patients/db_grants.py): whose report it is.
IDENTITY_COLUMNS = ("patient_id", "first_name", "last_name", "mrn")


def privacy_officer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in as a privacy officer, else 403 and an access-refused event."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if staff_group(request.user) != roles.PRIVACY_OFFICER:
            access_log.record_refusal(
                request, patient_id=kwargs.get("patient_id"), object_id=request.path[:64]
            )
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def get_patient_identity_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID
) -> PatientIdentity:
    try:
        return PatientIdentity.objects.only(*IDENTITY_COLUMNS).get(pk=patient_id)
    except PatientIdentity.DoesNotExist:
        access_log.record_refusal(request, patient_id=patient_id, reason="not found")
        raise Http404 from None
