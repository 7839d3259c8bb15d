"""The tail every write of the rights workflows shares: who acts (the signed-in staff member;
the database checks again that the row names the verified caller), the access-log event of the
step, tied to the item's patient, and the one 30-day extension a request may get (today, by the
caller, with its written reason)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from rights.models import AccessRequest, AmendmentRequest
from rights.restriction_models import ConfidentialCommunication, Restriction

# What a step is about: a request, a restriction or a confidential communication.
PatientItem = AccessRequest | AmendmentRequest | Restriction | ConfidentialCommunication


def staff_id(request: HttpRequest) -> int:
    """The signed-in staff member (the rights pages are for signed-in staff only)."""
    caller = request.user.pk
    if caller is None:
        raise PermissionError("not signed in")
    return int(caller)


def log_step(request: HttpRequest, action: str, item: PatientItem, reason: str = "") -> None:
    access_log.record(
        request,
        action,
        patient_id=item.patient_id,
        object_id=item.pk,
        reason=reason,
    )


def extend(
    request: HttpRequest, item: AccessRequest | AmendmentRequest, *, reason: str, days: int
) -> None:
    """Today, by the caller, with the written reason: the due date moves `days` later. The
    database refuses a second extension and one after the due date."""
    item.extended_on = timezone.localdate()
    item.extended_by_id = staff_id(request)
    item.extension_reason = reason
    item.due_on = item.due_on + timedelta(days=days)
    item.save(update_fields=["extended_on", "extended_by", "extension_reason", "due_on"])
