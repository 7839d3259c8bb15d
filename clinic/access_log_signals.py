"""Sign-in, sign-out, lockout and session-expiry events for the access log."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from clinic import access_log, signals


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


@receiver(signals.session_expired)
def session_expired(sender: Any, request: Any, reason: str, **kwargs: Any) -> None:
    request._clinic_expiring = True
    action = access_log.IDLE_LOGOUT if reason == "idle" else access_log.SESSION_EXPIRED
    access_log.record(request, action, outcome=reason)


@receiver(signals.mfa_reset)
def mfa_was_reset(sender: Any, staff_id: int, target_id: int, **kwargs: Any) -> None:
    # Runs inside the administrator's request transaction: the reset and its event commit together.
    access_log.record(None, access_log.MFA_RESET, staff_id=staff_id, object_id=f"staff:{target_id}")
