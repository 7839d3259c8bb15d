"""The one way views fetch a patient (STYLE.md: one helper per model).

Roles that never see identities get 403; an unknown id gets 404; both are logged as refused
access. The database enforces the same rule again (patients/db_grants.py).
"""

from __future__ import annotations

import uuid

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from clinic import roles
from clinic.access import not_found, require_group
from patients.models import PatientIdentity

READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN})
EDITORS = frozenset({roles.FRONT_DESK})
MAY_SEE = RawSQL(  # noqa: S611 (constant SQL, no input)
    'clinic_clinician_may_see("patient_identities"."patient_id")', (), output_field=BooleanField()
)


def require_patient_role(
    request: HttpRequest, *, write: bool = False, patient_id: uuid.UUID | str | None = None
) -> None:
    """403 (logged) unless the user's role may read (or, with write, edit) patient identities."""
    require_group(request, EDITORS if write else READERS, patient_id=patient_id)


def get_patient_for_user(
    request: HttpRequest,
    patient_id: uuid.UUID | str,
    *,
    write: bool = False,
    fields: tuple[str, ...] | None = None,
    with_may_see: bool = False,
) -> PatientIdentity:
    """The patient, with only `fields` read and decrypted (patients/models.py SHOWN_IN_*); with
    `with_may_see`, also `may_see`: the database's answer to "may the signed-in clinician see
    this patient's records" (records' row-level-security condition), in the same statement."""
    require_patient_role(request, write=write, patient_id=patient_id)
    patients = PatientIdentity.objects.shown(fields)
    if with_may_see:
        patients = patients.annotate(may_see=MAY_SEE)
    try:
        return patients.get(pk=patient_id)
    except PatientIdentity.DoesNotExist:
        raise not_found(request, patient_id=patient_id) from None
