"""Access rules of the right-of-access pages: the privacy officer, nobody else (403, logged);
a request is fetched by its id and its patient's together (404, logged, otherwise)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from clinic.access import not_found
from rights.models import AccessRequest


def get_access_request_for_privacy_officer(
    request: HttpRequest, patient_id: uuid.UUID, request_id: uuid.UUID
) -> AccessRequest:
    try:
        return AccessRequest.objects.get(pk=request_id, patient_id=patient_id)
    except AccessRequest.DoesNotExist:
        raise not_found(request, patient_id=patient_id, object_id=request_id) from None
