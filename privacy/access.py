"""Access rules of the privacy officer's console: the Privacy officer group, nobody else."""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from clinic import roles
from clinic.access import group_required, not_found
from patients.models import PatientIdentity

# The columns the privacy officer may read (patients/db_grants.py): whose report it is.
IDENTITY_COLUMNS = ("patient_id", "first_name", "last_name", "mrn")


# Every console page: the privacy officer, nobody else (403, logged).
privacy_officer_required = group_required(roles.PRIVACY_OFFICER)


def get_patient_identity_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID
) -> PatientIdentity:
    try:
        return PatientIdentity.objects.only(*IDENTITY_COLUMNS).get(pk=patient_id)
    except PatientIdentity.DoesNotExist:
        raise not_found(request, patient_id=patient_id) from None
