"""The one way views fetch a patient (STYLE.md: one helper per model).

Roles that never see identities get 403; an unknown id gets 404; both are logged as refused
access. The database enforces the same rule again (patients/db_grants.py).
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from clinic import access_log, roles
from clinic.staff import staff_group
from patients.models import PatientIdentity

READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN})
EDITORS = frozenset({roles.FRONT_DESK})


def require_patient_role(
    request: HttpRequest, *, write: bool = False, patient_id: uuid.UUID | str | None = None
) -> None:
    """403 (logged) unless the user's role may read (or, with write, edit) patient identities."""
    group = staff_group(request.user)
    if group not in (EDITORS if write else READERS):
        access_log.record_refusal(request, patient_id=patient_id, reason="role")
        raise PermissionDenied


def get_patient_for_user(
    request: HttpRequest, patient_id: uuid.UUID | str, *, write: bool = False
) -> PatientIdentity:
    require_patient_role(request, write=write, patient_id=patient_id)
    try:
        return PatientIdentity.objects.get(pk=patient_id)
    except PatientIdentity.DoesNotExist:
        access_log.record_refusal(request, patient_id=patient_id, reason="not found")
        raise Http404 from None
