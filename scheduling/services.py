"""Writes on appointments (`<entity>_<action>(*, ...)`, atomic), each with its access-log event.

They run in the request's transaction under the user's database role, so the grants, row-level
security and write checks of scheduling/db_grants.py and db_checks.py apply to every row. Each
write is one statement in a savepoint: an overlap refused by the exclusion constraint rolls back
only that statement and becomes SlotTaken (a form error, never a 500); a step that lost a race
(someone checked the patient in first) changes no row and becomes StepConflict.

Two conflicting inserts at the same moment each find the other's uncommitted index entry and
wait for each other: PostgreSQL breaks the tie with a deadlock error for one of them (a 500),
not an exclusion violation. So a write that places an appointment in time first takes
transaction-level advisory locks on its clinician and its patient, always in the same order:
such writes for one clinician or one patient queue, the second then sees the first's row and is
refused with SlotTaken (found by the two-desks test, which failed about one run in eight).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic import access_log
from patients.models import PatientIdentity
from scheduling.models import Appointment, AppointmentType

OVERLAP = "23P01"  # exclusion_violation
PATIENT_CONSTRAINT = "appointments_no_patient_overlap"


class SlotTaken(Exception):
    """The time overlaps a live appointment of the clinician or of the patient."""

    def __init__(self, *, patient_busy: bool):
        super().__init__("the time is no longer free")
        self.patient_busy = patient_busy


class StepConflict(Exception):
    """The appointment is not (or no longer) in a state this step may follow."""


class NotItsDay(StepConflict):
    """Check-in and no-show are recorded on the appointment's day (the clinic's) only; the
    database refuses them on any other day too (db_checks.py)."""


# Advisory-lock namespaces (the first key of the two-key form), arbitrary but fixed.
CLINICIAN_LOCKS = 7401
PATIENT_LOCKS = 7402


def _queue_for_time(clinician_id: int, patient_id: Any) -> None:
    """Wait for any other write placing an appointment of this clinician or this patient, until
    the end of this transaction (see the module docstring). Keys are taken in one global order
    (namespace, key), so two such writes never wait for each other in a cycle."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k.ns, k.key) FROM (VALUES (%s, %s),"
            " (%s, hashtext(%s::text))) AS k(ns, key) ORDER BY k.ns, k.key",
            [CLINICIAN_LOCKS, int(clinician_id), PATIENT_LOCKS, str(patient_id)],
        )


def _overlap(error: IntegrityError) -> SlotTaken | None:
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) != OVERLAP:
        return None
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    return SlotTaken(patient_busy=constraint == PATIENT_CONSTRAINT)


def appointment_book(
    *,
    request: HttpRequest,
    patient: PatientIdentity,
    clinician: Any,
    appointment_type: AppointmentType,
    starts_at: datetime.datetime,
    visit_reason: str = "",
    override_reason: str = "",
) -> Appointment:
    """Book; with `override_reason`, a time outside the clinician's working time (the front
    desk only, never in time off: the database checks it), logged as its own event too."""
    now = timezone.now()
    appointment = Appointment(
        patient=patient,
        clinician=clinician,
        appointment_type=appointment_type,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=appointment_type.default_minutes),
        visit_reason=visit_reason,
        override_reason=override_reason,
        booked_by_id=int(request.user.pk or 0),  # signed in: the views require it
        created_at=now,
        updated_at=now,
    )
    _queue_for_time(appointment.clinician_id, patient.pk)
    try:
        with transaction.atomic():
            appointment.save(force_insert=True)
    except IntegrityError as error:
        taken = _overlap(error)
        if taken is None:
            raise
        access_log.record(
            request, access_log.APPOINTMENT_BOOKED, patient_id=patient.pk, outcome="slot_taken"
        )
        raise taken from None
    _log_placed(request, access_log.APPOINTMENT_BOOKED, appointment, override_reason)
    return appointment


def appointment_reschedule(
    *,
    request: HttpRequest,
    appointment: Appointment,
    starts_at: datetime.datetime,
    override_reason: str = "",
) -> Appointment:
    """Move a booked appointment to `starts_at`, keeping its length; with `override_reason`, to
    a time outside working time (the front desk only, never in time off), logged as its own
    event too. Without it the mark is cleared: the database keeps it only on a time outside."""
    length = appointment.ends_at - appointment.starts_at
    _queue_for_time(appointment.clinician_id, appointment.patient_id)
    try:
        with transaction.atomic():
            moved = Appointment.objects.filter(pk=appointment.pk, status=Appointment.BOOKED).update(
                starts_at=starts_at,
                ends_at=starts_at + length,
                override_reason=override_reason,
                updated_at=timezone.now(),
            )
    except IntegrityError as error:
        taken = _overlap(error)
        if taken is None:
            raise
        access_log.record(
            request,
            access_log.APPOINTMENT_RESCHEDULED,
            patient_id=appointment.patient_id,
            object_id=appointment.pk,
            outcome="slot_taken",
        )
        raise taken from None
    if moved != 1:
        raise StepConflict()
    _log_placed(request, access_log.APPOINTMENT_RESCHEDULED, appointment, override_reason)
    appointment.starts_at, appointment.ends_at = starts_at, starts_at + length
    appointment.override_reason = override_reason
    return appointment


def _log_placed(
    request: HttpRequest, action: str, appointment: Appointment, override_reason: str
) -> None:
    """A booking or a move, and, outside working time, the override with its category."""
    access_log.record(request, action, patient_id=appointment.patient_id, object_id=appointment.pk)
    if override_reason:
        access_log.record(
            request,
            access_log.APPOINTMENT_OVERRIDE,
            patient_id=appointment.patient_id,
            object_id=appointment.pk,
            reason=override_reason,
        )


def _step(
    request: HttpRequest,
    appointment: Appointment,
    status: str,
    action: str,
    **changes: Any,
) -> Appointment:
    """Move `appointment` to `status` if it is still where this user saw it."""
    if not appointment.may_become(status):
        raise StepConflict()
    if status in Appointment.ON_THE_DAY_STEPS and not appointment.is_today:
        raise NotItsDay()
    now = timezone.now()
    with transaction.atomic():
        moved = Appointment.objects.filter(pk=appointment.pk, status=appointment.status).update(
            status=status, updated_at=now, **{Appointment.STAMPS[status]: now}, **changes
        )
    if moved != 1:
        raise StepConflict()
    access_log.record(
        request,
        action,
        patient_id=appointment.patient_id,
        object_id=appointment.pk,
        reason=status
        if action == access_log.APPOINTMENT_FLOW
        else changes.get("cancel_reason", ""),
    )
    appointment.status = status
    return appointment


def appointment_check_in(*, request: HttpRequest, appointment: Appointment) -> Appointment:
    return _step(request, appointment, Appointment.ARRIVED, access_log.APPOINTMENT_CHECKED_IN)


def appointment_mark_no_show(*, request: HttpRequest, appointment: Appointment) -> Appointment:
    return _step(request, appointment, Appointment.NO_SHOW, access_log.APPOINTMENT_NO_SHOW)


def appointment_cancel(
    *, request: HttpRequest, appointment: Appointment, reason: str
) -> Appointment:
    return _step(
        request,
        appointment,
        Appointment.CANCELLED,
        access_log.APPOINTMENT_CANCELLED,
        cancel_reason=reason,
    )


def appointment_advance(
    *, request: HttpRequest, appointment: Appointment, status: str
) -> Appointment:
    """The clinician's steps: in room, seen, done."""
    if status not in Appointment.CLINICIAN_STEPS:
        raise StepConflict()
    return _step(request, appointment, status, access_log.APPOINTMENT_FLOW)
