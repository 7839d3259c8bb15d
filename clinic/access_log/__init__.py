"""The access log: recording API and event vocabulary here; the append function and grants the
database enforces in database.py; the hash-chain check in chain.py.

Write access-log events from the application (one call per meaningful access).

Events are written in the request's own transaction, so an access without its event cannot
commit: a signed-in request holds its events and writes them all at its end with one call of
`append_access_events` (a day list of 1,250 patients: one statement, not 1,250); elsewhere
(sign-in, commands) `append_access_event` writes one at a time. A refused access (403/404)
rolls the request's work back, so its event is queued on the request and written by
DatabaseRoleMiddleware in a transaction of its own.
Never pass names, search terms, notes or any other PHI: ids, kinds and outcomes only.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from django.db import connections, transaction
from django.http import HttpRequest

from clinic.client_ip import client_ip
from clinic.staff import database_role_for
from clinic.staff_identity import set_token

# The vocabulary of events (DESIGN.md section 4; when each is written: docs/accountability.md).
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_OUT = "sign_out"
IDLE_LOGOUT = "idle_logout"
SESSION_EXPIRED = "session_expired"
SESSION_ENDED = "session_ended"
LOCKOUT = "lockout"
UNLOCK = "unlock"
PATIENT_SEARCH = "patient_search"
PATIENT_REGISTERED = "patient_registered"
DEMOGRAPHICS_CHANGED = "demographics_changed"
CHART_VIEWED = "chart_viewed"
IDENTIFIER_REVEALED = "identifier_revealed"
RECORD_VIEWED = "record_viewed"
RECORD_CREATED = "record_created"
RECORD_CHANGED = "record_changed"
CARE_TEAM_CHANGED = "care_team_changed"
EXPORT = "export"
BREAK_GLASS_STARTED = "break_glass_started"
BREAK_GLASS_ENDED = "break_glass_ended"
BREAK_GLASS_REVIEWED = "break_glass_reviewed"
ACCESS_REFUSED = "access_refused"
# Security administration (accounts/security_events.py): the object is `staff:<id>`.
MFA_RESET = "mfa_reset"
STAFF_CREATED = "staff_created"
STAFF_ACTIVATED = "staff_activated"
STAFF_DEACTIVATED = "staff_deactivated"
GROUP_ADDED = "group_added"
GROUP_REMOVED = "group_removed"
PASSWORD_CHANGED = "password_changed"
# The privacy officer's console (docs/accountability.md).
ACCESS_LOG_SEARCHED = "access_log_searched"
ACCESS_REPORT_VIEWED = "access_report_viewed"
DISCLOSURE_RECORDED = "disclosure_recorded"
DISCLOSURE_ACCOUNTING = "disclosure_accounting"
DISCLOSURE_SUSPENDED = "disclosure_suspended"
# Appointments (docs/scheduling.md): each change is an event; a day list logs each patient shown.
APPOINTMENT_BOOKED = "appointment_booked"
APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
APPOINTMENT_CANCELLED = "appointment_cancelled"
APPOINTMENT_CHECKED_IN = "appointment_checked_in"
APPOINTMENT_FLOW = "appointment_flow"
APPOINTMENT_NO_SHOW = "appointment_no_show"
APPOINTMENTS_LISTED = "appointments_listed"
APPOINTMENT_OVERRIDE = "appointment_override"
# Signed notes and addenda (docs/notes.md): the object is the visit or the addendum.
NOTE_SIGNED = "note_signed"
ADDENDUM_ADDED = "addendum_added"
UNSIGNED_NOTES_LISTED = "unsigned_notes_listed"
# The clinician's chart (docs/chart.md): the reason names the section or item kind.
CHART_SECTION_VIEWED = "chart_section_viewed"
CHART_ITEM_RECORDED = "chart_item_recorded"
CHART_ITEM_CHANGED = "chart_item_changed"
DRAFT_SAVED = "visit_note_draft_saved"
DRAFT_RESTORED = "visit_note_draft_restored"
# The right of access, 164.524 (docs/rights.md): each step of a request is an event.
ACCESS_REQUEST_RECORDED = "access_request_recorded"
ACCESS_REQUESTS_LISTED = "access_requests_listed"
ACCESS_REQUEST_VIEWED = "access_request_viewed"
ACCESS_REQUEST_EXTENDED = "access_request_extended"
ACCESS_EXPORT_PRODUCED = "access_export_produced"
ACCESS_EXPORT_HANDED_OVER = "access_export_handed_over"
ACCESS_REQUEST_CLOSED = "access_request_closed"
# The visit summary a clinician prints for the patient (rights/visit_summary_views.py).
VISIT_SUMMARY_PRODUCED = "visit_summary_produced"
# Amendment, 164.526 (docs/rights.md).
AMENDMENT_REQUEST_RECORDED = "amendment_request_recorded"
AMENDMENT_REQUEST_VIEWED = "amendment_request_viewed"
AMENDMENT_REQUEST_EXTENDED = "amendment_request_extended"
AMENDMENT_DECIDED = "amendment_decided"
AMENDMENT_DISAGREEMENT_RECORDED = "amendment_disagreement_recorded"
AMENDMENT_REBUTTAL_RECORDED = "amendment_rebuttal_recorded"
# An accepted amendment of a chart entry or a demographic field: the object is the entry.
AMENDMENT_ENTRY_ADDED = "amendment_entry_added"
# Restrictions, 164.522(a) (docs/rights.md).
RESTRICTIONS_LISTED = "restrictions_listed"
RESTRICTION_RECORDED = "restriction_recorded"
RESTRICTION_VIEWED = "restriction_viewed"
RESTRICTION_ENDED = "restriction_ended"
RESTRICTION_OVERRIDDEN = "restriction_overridden"
# Confidential communications, 164.522(b) (docs/rights.md).
CONFIDENTIAL_CONTACT_RECORDED = "confidential_contact_recorded"
CONFIDENTIAL_CONTACT_ENDED = "confidential_contact_ended"
CONFIDENTIAL_CONTACT_SHOWN = "confidential_contact_shown"

# The one declared set of actions, with the label the privacy console shows. `record` refuses
# any other action, and the console's filter offers exactly these.
ACTIONS: dict[str, str] = {
    SIGN_IN: "Signed in",
    SIGN_IN_FAILED: "Sign-in failed",
    SIGN_OUT: "Signed out",
    IDLE_LOGOUT: "Signed out when idle",
    SESSION_EXPIRED: "Session reached its time limit",
    SESSION_ENDED: "Session ended",
    LOCKOUT: "Locked out",
    UNLOCK: "Unlocked",
    PATIENT_SEARCH: "Patient search",
    PATIENT_REGISTERED: "Patient registered",
    DEMOGRAPHICS_CHANGED: "Demographics changed",
    CHART_VIEWED: "Chart viewed",
    IDENTIFIER_REVEALED: "Identifier revealed",
    RECORD_VIEWED: "Record viewed",
    RECORD_CREATED: "Record created",
    RECORD_CHANGED: "Record changed",
    CARE_TEAM_CHANGED: "Care team changed",
    EXPORT: "Export",
    BREAK_GLASS_STARTED: "Emergency access started",
    BREAK_GLASS_ENDED: "Emergency access ended",
    BREAK_GLASS_REVIEWED: "Emergency access reviewed",
    ACCESS_REFUSED: "Access refused",
    MFA_RESET: "Two-step sign-in reset",
    STAFF_CREATED: "Staff account created",
    STAFF_ACTIVATED: "Staff account activated",
    STAFF_DEACTIVATED: "Staff account deactivated",
    GROUP_ADDED: "Added to a group",
    GROUP_REMOVED: "Removed from a group",
    PASSWORD_CHANGED: "Password changed",
    ACCESS_LOG_SEARCHED: "Access log searched",
    ACCESS_REPORT_VIEWED: "Access report viewed",
    DISCLOSURE_RECORDED: "Disclosure recorded",
    DISCLOSURE_ACCOUNTING: "Accounting of disclosures",
    DISCLOSURE_SUSPENDED: "Disclosure accounting suspended",
    APPOINTMENT_BOOKED: "Appointment booked",
    APPOINTMENT_RESCHEDULED: "Appointment rescheduled",
    APPOINTMENT_CANCELLED: "Appointment cancelled",
    APPOINTMENT_CHECKED_IN: "Patient checked in",
    APPOINTMENT_FLOW: "Appointment step recorded",
    APPOINTMENT_NO_SHOW: "Appointment marked no-show",
    APPOINTMENTS_LISTED: "Day list shown",
    APPOINTMENT_OVERRIDE: "Booked outside working time",
    NOTE_SIGNED: "Visit note signed",
    ADDENDUM_ADDED: "Addendum added",
    UNSIGNED_NOTES_LISTED: "Unsigned notes listed",
    CHART_SECTION_VIEWED: "Chart section viewed",
    CHART_ITEM_RECORDED: "Chart item recorded",
    CHART_ITEM_CHANGED: "Chart item changed",
    DRAFT_SAVED: "Unsaved visit note kept as a draft",
    DRAFT_RESTORED: "Visit note draft restored",
    ACCESS_REQUEST_RECORDED: "Access request recorded",
    ACCESS_REQUESTS_LISTED: "Open access requests listed",
    ACCESS_REQUEST_VIEWED: "Access request viewed",
    ACCESS_REQUEST_EXTENDED: "Access request extended",
    ACCESS_EXPORT_PRODUCED: "Record export produced for the patient",
    ACCESS_EXPORT_HANDED_OVER: "Record export handed over to the patient",
    ACCESS_REQUEST_CLOSED: "Access request closed",
    VISIT_SUMMARY_PRODUCED: "Visit summary produced for the patient",
    AMENDMENT_REQUEST_RECORDED: "Amendment request recorded",
    AMENDMENT_REQUEST_VIEWED: "Amendment request viewed",
    AMENDMENT_REQUEST_EXTENDED: "Amendment request extended",
    AMENDMENT_DECIDED: "Amendment accepted or denied",
    AMENDMENT_DISAGREEMENT_RECORDED: "Statement of disagreement recorded",
    AMENDMENT_REBUTTAL_RECORDED: "Rebuttal recorded",
    AMENDMENT_ENTRY_ADDED: "Amendment linked to a chart entry or demographic field",
    RESTRICTIONS_LISTED: "Restrictions listed",
    RESTRICTION_RECORDED: "Restriction recorded and decided",
    RESTRICTION_VIEWED: "Restriction viewed",
    RESTRICTION_ENDED: "Restriction ended",
    RESTRICTION_OVERRIDDEN: "Disclosure recorded despite an agreed restriction",
    CONFIDENTIAL_CONTACT_RECORDED: "Confidential communications recorded",
    CONFIDENTIAL_CONTACT_ENDED: "Confidential communications ended",
    CONFIDENTIAL_CONTACT_SHOWN: "Alternative contact shown (confidential communications)",
}


def action_choices() -> list[tuple[str, str]]:
    """(action, label) for every declared action, by label: the console's filter choices."""
    return sorted(ACTIONS.items(), key=lambda item: item[1])


def action_label(action: str) -> str:
    """The readable label of `action` (an undeclared one, from an older release, as stored)."""
    return ACTIONS.get(action, action)


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"undeclared access-log action {action!r} (clinic/access_log ACTIONS)")


# The database takes the author from the verified staff identity (clinic/staff_identity.py).
# Schema-qualified: no schema on the caller's search_path can shadow the functions.
APPEND_SQL = "SELECT public.append_access_event(%s, %s, %s, %s, %s, %s)"
# A request's held events, however many (a day list's patients): one statement, one lock.
BATCH_APPEND_SQL = (
    "SELECT public.append_access_events(%s::text[], %s::uuid[], %s::text[], %s::inet[], "
    "%s::text[], %s::text[])"
)
PENDING_ATTR = "_clinic_pending_access_events"
QUEUE_ATTR = "_clinic_held_access_events"
# The signed-in request whose events are held (set by hold_events), for `record_change`.
_held_request: ContextVar[HttpRequest | None] = ContextVar("clinic_held_request", default=None)


def _actor(request: HttpRequest | None) -> tuple[int | None, str, str | None]:
    if request is None:
        return None, "", None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, "anonymous", client_ip(request) or None
    return user.pk, database_role_for(user) or "clinic_web", client_ip(request) or None


def record(
    request: HttpRequest | None,
    action: str,
    *,
    patient_id: uuid.UUID | str | None = None,
    object_id: Any = "",
    outcome: str = "ok",
    reason: str = "",
    staff_id: int | None = None,
    using: str = "default",
) -> None:
    """Append one event in the current transaction of `using`.

    Inside a request, DatabaseRoleMiddleware holds the events and appends them just before the
    request's COMMIT: the append takes the chain's lock until the transaction ends, and taking it
    at the start of a view would queue every concurrent request behind this one's rendering.
    """
    _check_action(action)  # here, at the caller, not at the request's end
    actor_id, role, ip = _actor(request)
    if staff_id is not None and staff_id != actor_id:
        actor_id, role = staff_id, _role_of(staff_id, using)
    params = [
        action,
        str(patient_id) if patient_id else None,
        str(object_id or ""),
        ip,
        outcome,
        reason,
    ]
    queue = getattr(request, QUEUE_ATTR, None) if using == "default" else None
    if queue is not None:
        # Written in the request's transaction, under the signed-in user's verified identity.
        if actor_id != getattr(getattr(request, "user", None), "pk", None):
            raise ValueError("a request's held events are the signed-in user's own")
        queue.append(params)
        return
    _append(using, [params], author=(actor_id, role))


def _role_of(staff_id: int, using: str) -> str:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.using(using).filter(pk=staff_id).first()
    return (database_role_for(user) if user else None) or "clinic_web"


def _append(
    using: str, rows: list[list[Any]], author: tuple[int | None, str] | None = None
) -> None:
    """Append `rows` one by one, outside a request's held events (sign-in, commands, refusals).
    With an `author`, first name them to the database in this transaction; without a staff
    id, the event is anonymous."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        if author is not None and author[0] is not None:
            set_token(using, author[0], author[1])
        for params in rows:
            cursor.execute(APPEND_SQL, params)


def record_change(
    action: str,
    *,
    object_id: Any = "",
    outcome: str = "ok",
    reason: str = "",
    staff_id: int | None = None,
    using: str = "default",
) -> None:
    """Append one event from code that has no request at hand (model signals, services shared
    by views, the admin and commands), in the current transaction of `using`.

    In a signed-in request on the web connection it is that request's event: its author and
    address, held to the request's COMMIT like `record`'s. Elsewhere it is appended now, by
    `staff_id` if given, else by the transaction's verified identity (none, e.g. the owner's
    shell: anonymous)."""
    request = _held_request.get()
    if (
        request is not None
        and using == "default"
        and getattr(request, QUEUE_ATTR, None) is not None
    ):
        # `record` refuses an author other than the signed-in user: the transaction's identity
        # is never switched in the middle of a request.
        record(
            request,
            action,
            object_id=object_id,
            outcome=outcome,
            reason=reason,
            staff_id=staff_id,
        )
        return
    _check_action(action)
    params = [action, None, str(object_id or ""), None, outcome, reason]
    _append(using, [params], author=(staff_id, _role_of(staff_id, using)) if staff_id else None)


def hold_events(request: HttpRequest) -> None:
    """From now on, events of this request wait for `write_held_events` (same transaction)."""
    setattr(request, QUEUE_ATTR, [])
    _held_request.set(request)


def write_held_events(request: HttpRequest) -> None:
    rows = getattr(request, QUEUE_ATTR, None) or []
    setattr(request, QUEUE_ATTR, None)
    _held_request.set(None)
    if rows:
        # The request's transaction: if the append fails, the whole request rolls back (the
        # middleware's atomic block sees the exception), so no savepoint is needed. One
        # statement for all of them, in the order they were recorded, by the verified identity
        # the middleware named at the request's start.
        with connections["default"].cursor() as cursor:
            cursor.execute(BATCH_APPEND_SQL, [list(column) for column in zip(*rows, strict=True)])


def drop_held_events(request: HttpRequest) -> None:
    """The request's work was rolled back: its events go with it."""
    setattr(request, QUEUE_ATTR, None)
    _held_request.set(None)


def record_refusal(
    request: HttpRequest, *, patient_id: Any = None, object_id: Any = "", reason: str = ""
) -> None:
    """Queue a refused-access event; it is written after the request's work is rolled back."""
    pending = getattr(request, PENDING_ATTR, None)
    if pending is None:
        pending = []
        setattr(request, PENDING_ATTR, pending)
    pending.append({"patient_id": patient_id, "object_id": object_id, "reason": reason})


def flush_refusals(request: HttpRequest, status: int) -> None:
    # A refusal nobody explained (an unknown address, a 403 from elsewhere) is recorded without
    # an object: the request's path is text the user typed and may hold a name.
    events = getattr(request, PENDING_ATTR, None) or [{}]
    for event in events:
        record(
            request,
            ACCESS_REFUSED,
            outcome=str(status),
            patient_id=event.get("patient_id"),
            object_id=event.get("object_id", ""),
            reason=event.get("reason", ""),
        )
