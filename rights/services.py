"""Writes of the right-of-access workflow, each one transaction with its access-log event.

The database checks each step again (rights/db_checks.py); a refusal there rolls back the step
and its event together.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from patients.models import PatientIdentity
from privacy.models import Disclosure
from rights.caller import extend, log_step, staff_id
from rights.models import EXTENSION_DAYS, FHIR, PDF, AccessRequest, due_date


def access_request_record(
    request: HttpRequest, *, patient: PatientIdentity, access_request: AccessRequest
) -> AccessRequest:
    with transaction.atomic():
        access_request.patient_id = patient.pk
        access_request.verified_by_id = staff_id(request)
        access_request.due_on = due_date(access_request.received_on)
        access_request.save()
        log_step(
            request,
            access_log.ACCESS_REQUEST_RECORDED,
            access_request,
            reason=access_request.format,
        )
    return access_request


def access_request_extend(
    request: HttpRequest, *, access_request: AccessRequest, reason: str
) -> None:
    with transaction.atomic():
        extend(request, access_request, reason=reason, days=EXTENSION_DAYS)
        log_step(request, access_log.ACCESS_REQUEST_EXTENDED, access_request)


def access_export_produced(
    request: HttpRequest, *, access_request: AccessRequest, export_format: str, content: bytes
) -> str:
    """Store the SHA-256 of an export about to be sent and log its production; the digest."""
    digest = hashlib.sha256(content).hexdigest()
    column = {PDF: "pdf_sha256", FHIR: "fhir_sha256"}[export_format]
    with transaction.atomic():
        setattr(access_request, column, digest)
        access_request.save(update_fields=[column])
        log_step(
            request,
            access_log.ACCESS_EXPORT_PRODUCED,
            access_request,
            reason=f"{export_format} sha256:{digest}",
        )
    return digest


def access_export_hand_over(request: HttpRequest, *, access_request: AccessRequest) -> None:
    """The export leaves the clinic: recorded on the request, in the access log, and as a
    disclosure to the individual (excluded from the accounting, 164.528(a)(1)(ii))."""
    today = timezone.localdate()
    produced = [
        f"{name} (SHA-256 {digest})"
        for name, digest in (
            ("PDF", access_request.pdf_sha256),
            ("FHIR", access_request.fhir_sha256),
        )
        if digest
    ]
    with transaction.atomic():
        access_request.handed_over_on = today
        access_request.save(update_fields=["handed_over_on"])
        disclosure = Disclosure.objects.create(
            patient_id=access_request.patient_id,
            disclosed_on=today,
            recipient="The individual (right of access, 164.524)",
            description="Designated record set export: " + ", ".join(produced),
            purpose="The individual's request for access to their own record",
            category="to_individual",
            recorded_by_id=staff_id(request),
        )
        log_step(
            request,
            access_log.ACCESS_EXPORT_HANDED_OVER,
            access_request,
            reason=access_request.delivery,
        )
        access_log.record(
            request,
            access_log.DISCLOSURE_RECORDED,
            patient_id=access_request.patient_id,
            object_id=disclosure.pk,
            reason=disclosure.category,
        )


def access_request_close(
    request: HttpRequest,
    *,
    access_request: AccessRequest,
    outcome: str,
    denial_ground: str,
    note: str,
) -> None:
    with transaction.atomic():
        access_request.outcome = outcome
        access_request.denial_ground = denial_ground
        access_request.outcome_note = note or None
        access_request.closed_on = timezone.localdate()
        access_request.closed_by_id = staff_id(request)
        access_request.save(
            update_fields=["outcome", "denial_ground", "outcome_note", "closed_on", "closed_by"]
        )
        log_step(request, access_log.ACCESS_REQUEST_CLOSED, access_request, reason=outcome)
