"""Account events: the signals this app sends (session expiry, MFA reset) and the receivers that
write sign-in, sign-out, lockout, expiry, session-end and MFA-reset events to the access log.

Every `logout()` writes one `session_ended` event with its cause in `reason` (`signed_out`
unless the caller named another through `sign_out`); sessions ended from elsewhere (another
browser, an administrator) are logged by accounts.sessions.end_sessions."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver
from django.http import HttpRequest

from clinic import access_log

# Sent with request= and reason= ('idle' or 'absolute') just before the session is flushed.
session_expired = Signal()

# Sent when an administrator resets a staff member's MFA: sender is the acting view or admin,
# with staff_id= (who did it) and target_id= (whose devices were removed). Ids only, no PHI.
mfa_reset = Signal()

# Why this request's session ends (the `reason` of its session_ended event).
END_REASON_ATTR = "_clinic_session_end_reason"
SIGNED_OUT = "signed_out"
EXPIRY_REASONS = frozenset({"idle", "absolute"})


def sign_out(request: HttpRequest, reason: str) -> None:
    """End this request's session (`logout`), recording `reason` as its cause."""
    setattr(request, END_REASON_ATTR, reason)
    logout(request)


@receiver(user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None:
        access_log.record(request, access_log.SIGN_IN, staff_id=user.pk)


@receiver(user_logged_out)
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or user is None:
        return
    reason = getattr(request, END_REASON_ATTR, None) or SIGNED_OUT
    if reason not in EXPIRY_REASONS:
        access_log.record(request, access_log.SIGN_OUT, staff_id=user.pk)
    # The session's own user is the author; its key (or digest) is never logged.
    access_log.record(
        request,
        access_log.SESSION_ENDED,
        staff_id=user.pk,
        object_id=f"staff:{user.pk}",
        outcome="1 ended",
        reason=reason,
    )


@receiver(user_login_failed)
def sign_in_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # The attempted username is not recorded: it may be a mistyped password or a patient's name.
    if request is not None:
        access_log.record(request, access_log.SIGN_IN_FAILED, outcome="failed")


@receiver(user_locked_out)
def locked_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    if request is not None:
        access_log.record(request, access_log.LOCKOUT, outcome="locked")


@receiver(session_expired)
def session_ended_by_limit(sender: Any, request: Any, reason: str, **kwargs: Any) -> None:
    setattr(request, END_REASON_ATTR, reason)
    action = access_log.IDLE_LOGOUT if reason == "idle" else access_log.SESSION_EXPIRED
    access_log.record(request, action, outcome=reason)


@receiver(mfa_reset)
def mfa_was_reset(sender: Any, staff_id: int, target_id: int, **kwargs: Any) -> None:
    # Runs inside the administrator's request transaction: the reset and its event commit together.
    access_log.record(None, access_log.MFA_RESET, staff_id=staff_id, object_id=f"staff:{target_id}")
