"""Writes of the amendment workflow (164.526), each one transaction with its access-log event.
The database checks each step again (rights/db_amendments.py, rights/db_amendment_entries.py)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from records.models import VisitAddendum
from rights.amendment_models import NOTE, AmendmentEntry
from rights.caller import extend, log_step, staff_id
from rights.models import (
    ACCEPTED,
    AMENDMENT_EXTENSION_DAYS,
    DENIED,
    AmendmentRequest,
    amendment_due_date,
)

AMENDMENT_PREFIX = "Amendment at the patient's request (45 CFR 164.526): "


def amendment_record(request: HttpRequest, *, amendment: AmendmentRequest) -> AmendmentRequest:
    """`amendment` carries patient, record, routed_to (the note's author), receipt, request."""
    with transaction.atomic():
        amendment.recorded_by_id = staff_id(request)
        amendment.due_on = amendment_due_date(amendment.received_on)
        amendment.save(force_insert=True)
        log_step(request, access_log.AMENDMENT_REQUEST_RECORDED, amendment)
    return amendment


def amendment_extend(request: HttpRequest, *, amendment: AmendmentRequest, reason: str) -> None:
    with transaction.atomic():
        extend(request, amendment, reason=reason, days=AMENDMENT_EXTENSION_DAYS)
        log_step(request, access_log.AMENDMENT_REQUEST_EXTENDED, amendment)


def amendment_accept(
    request: HttpRequest, *, amendment: AmendmentRequest, text: str, notify: str
) -> VisitAddendum | AmendmentEntry:
    """The decider links the amendment to the item, which itself is never changed: a note gets
    the author's signed addendum, a chart entry or a demographic field an amendment entry; the
    request records it, with whom to notify (164.526(c)(3))."""
    with transaction.atomic():
        added: VisitAddendum | AmendmentEntry
        if amendment.target_kind == NOTE and amendment.record_id is not None:
            added = VisitAddendum(
                record_id=amendment.record_id,
                patient_id=amendment.patient_id,
                author_id=staff_id(request),
                text=AMENDMENT_PREFIX + text,
            )
            added.save(force_insert=True)
            amendment.addendum = added
            action = access_log.ADDENDUM_ADDED
        else:
            added = AmendmentEntry(
                amendment=amendment,
                patient_id=amendment.patient_id,
                target_kind=amendment.target_kind,
                problem_id=amendment.problem_id,
                allergy_id=amendment.allergy_id,
                medication_id=amendment.medication_id,
                vitals_id=amendment.vitals_id,
                demographic_field=amendment.demographic_field,
                author_id=staff_id(request),
                text=text,
            )
            added.save(force_insert=True)
            action = access_log.AMENDMENT_ENTRY_ADDED
        access_log.record(
            request,
            action,
            patient_id=amendment.patient_id,
            object_id=added.pk,
            reason=amendment.target_kind,
        )
        amendment.outcome = ACCEPTED
        amendment.notify = notify or None
        amendment.decided_on = timezone.localdate()
        amendment.decided_by_id = staff_id(request)
        amendment.save(update_fields=["outcome", "addendum", "notify", "decided_on", "decided_by"])
        log_step(request, access_log.AMENDMENT_DECIDED, amendment, reason=ACCEPTED)
    return added


def amendment_deny(
    request: HttpRequest, *, amendment: AmendmentRequest, ground: str, reason: str
) -> None:
    with transaction.atomic():
        amendment.outcome = DENIED
        amendment.denial_ground = ground
        amendment.denial_reason = reason
        amendment.decided_on = timezone.localdate()
        amendment.decided_by_id = staff_id(request)
        amendment.save(
            update_fields=["outcome", "denial_ground", "denial_reason", "decided_on", "decided_by"]
        )
        log_step(request, access_log.AMENDMENT_DECIDED, amendment, reason=DENIED)


def amendment_disagreement(request: HttpRequest, *, amendment: AmendmentRequest, text: str) -> None:
    with transaction.atomic():
        amendment.disagreement = text
        amendment.disagreement_on = timezone.localdate()
        amendment.save(update_fields=["disagreement", "disagreement_on"])
        log_step(request, access_log.AMENDMENT_DISAGREEMENT_RECORDED, amendment)


def amendment_rebuttal(request: HttpRequest, *, amendment: AmendmentRequest, text: str) -> None:
    with transaction.atomic():
        amendment.rebuttal = text
        amendment.rebuttal_on = timezone.localdate()
        amendment.save(update_fields=["rebuttal", "rebuttal_on"])
        log_step(request, access_log.AMENDMENT_REBUTTAL_RECORDED, amendment)
