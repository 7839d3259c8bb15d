"""Account events: the signals this app sends (session expiry, MFA reset) and the receivers that
write sign-in, sign-out, lockout, expiry and MFA-reset events to the access log."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver

from clinic import access_log

# Sent with request= and reason= ('idle' or 'absolute') just before the session is flushed.
session_expired = Signal()

# Sent when an administrator resets a staff member's MFA: sender is the acting view or admin,
# with staff_id= (who did it) and target_id= (whose devices were removed). Ids only, no PHI.
mfa_reset = Signal()


@receiver(user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None:
        access_log.record(request, access_log.SIGN_IN, staff_id=user.pk)


@receiver(user_logged_out)
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and user is not None and not getattr(request, "_clinic_expiring", False):
        access_log.record(request, access_log.SIGN_OUT, staff_id=user.pk)


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
    request._clinic_expiring = True
    action = access_log.IDLE_LOGOUT if reason == "idle" else access_log.SESSION_EXPIRED
    access_log.record(request, action, outcome=reason)


@receiver(mfa_reset)
def mfa_was_reset(sender: Any, staff_id: int, target_id: int, **kwargs: Any) -> None:
    # Runs inside the administrator's request transaction: the reset and its event commit together.
    access_log.record(None, access_log.MFA_RESET, staff_id=staff_id, object_id=f"staff:{target_id}")
