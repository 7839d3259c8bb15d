"""The one way views fetch a patient (STYLE.md: one helper per model).

Roles that never see identities get 403; an unknown id gets 404; both are logged as refused
access. The database enforces the same rule again (patients/db_grants.py).
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from clinic import roles
from clinic.access import not_found, require_group
from patients.models import PatientIdentity

READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN})
EDITORS = frozenset({roles.FRONT_DESK})


def require_patient_role(
    request: HttpRequest, *, write: bool = False, patient_id: uuid.UUID | str | None = None
) -> None:
    """403 (logged) unless the user's role may read (or, with write, edit) patient identities."""
    require_group(request, EDITORS if write else READERS, patient_id=patient_id)


def get_patient_for_user(
    request: HttpRequest, patient_id: uuid.UUID | str, *, write: bool = False
) -> PatientIdentity:
    require_patient_role(request, write=write, patient_id=patient_id)
    try:
        return PatientIdentity.objects.get(pk=patient_id)
    except PatientIdentity.DoesNotExist:
        raise not_found(request, patient_id=patient_id) from None
