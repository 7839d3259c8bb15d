"""Restrictions (164.522(a)) and confidential communications (164.522(b)): each write one
transaction with its access-log event; the database checks each again (rights/db_restrictions.py,
rights/db_communications.py). And what the other pages ask: the active restrictions of a patient
(the banner), those a disclosure would fall under, the confidential communications in force."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from rights import patient_facts
from rights.caller import log_step, staff_id
from rights.restriction_models import (
    COVERS,
    SHARED_COLUMNS,
    ConfidentialCommunication,
    Restriction,
)


def restriction_record(request: HttpRequest, *, restriction: Restriction) -> Restriction:
    """`restriction` carries patient, received_on, category, detail and decision."""
    with transaction.atomic():
        restriction.decided_by_id = staff_id(request)
        restriction.decided_on = timezone.localdate()
        restriction.save(force_insert=True)
        log_step(
            request,
            access_log.RESTRICTION_RECORDED,
            restriction,
            reason=f"{restriction.category} {restriction.decision}",
        )
    return restriction


def restriction_end(request: HttpRequest, *, restriction: Restriction, how: str) -> None:
    with transaction.atomic():
        restriction.ended_on = timezone.localdate()
        restriction.ended_by_id = staff_id(request)
        restriction.ended_how = how
        restriction.save(update_fields=["ended_on", "ended_by", "ended_how"])
        log_step(request, access_log.RESTRICTION_ENDED, restriction, reason=how)


def active_restrictions(patient_id: uuid.UUID) -> list[Restriction]:
    """The patient's agreed restrictions that have not ended, as far as the caller's role may
    read them (the columns every reader holds: never the detail). One statement."""
    return list(
        patient_facts.restrictions(patient_id)
        .only(*SHARED_COLUMNS)
        .order_by("category", "restriction_id")
    )


def restrictions_covering(
    restrictions: list[Restriction], disclosure_category: str
) -> list[Restriction]:
    return [r for r in restrictions if disclosure_category in COVERS.get(r.category, ())]


# --- Confidential communications, 164.522(b) ----------------------------------------------------

FLAG_COLUMNS = ("communication_id", "patient_id", "use_instead", "ended_on")
CONTACT_COLUMNS = (*FLAG_COLUMNS, "alt_address", "alt_phone")


def communication_record(
    request: HttpRequest, *, communication: ConfidentialCommunication
) -> ConfidentialCommunication:
    """`communication` carries patient, requested_on, the alternative contact and the flag."""
    with transaction.atomic():
        communication.recorded_by_id = staff_id(request)
        communication.save(force_insert=True)
        log_step(request, access_log.CONFIDENTIAL_CONTACT_RECORDED, communication)
    return communication


def communication_end(request: HttpRequest, *, communication: ConfidentialCommunication) -> None:
    with transaction.atomic():
        communication.ended_on = timezone.localdate()
        communication.ended_by_id = staff_id(request)
        communication.save(update_fields=["ended_on", "ended_by"])
        log_step(request, access_log.CONFIDENTIAL_CONTACT_ENDED, communication)


def communication_in_force(
    patient_id: uuid.UUID, *, with_contact: bool
) -> ConfidentialCommunication | None:
    """The patient's confidential communications in force, if the caller may see them: with the
    contact (the front desk) or only the fact and the flag (a clinician). One statement."""
    columns = CONTACT_COLUMNS if with_contact else FLAG_COLUMNS
    return patient_facts.communications_in_force(patient_id).only(*columns).first()
