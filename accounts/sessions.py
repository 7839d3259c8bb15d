"""Keeping accounts.StaffSession in step with Django's sessions, and ending sessions.

A row is written at sign-in, its last activity refreshed at most once a minute by the
middleware (status polling does not count, as for the idle limit), and it is deleted at
sign-out. Ending a session deletes Django's session row, so that browser is signed out at its
next request. Rows name sessions by the digest of their key, as Django's session table does
here (accounts/session_store.py): neither holds a key that signs anyone in.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import connections, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.lifetime import NO_RENEW_PATHS
from accounts.models import StaffSession
from accounts.session_store import digest, end_by_digest
from clinic import access_log
from clinic.client_ip import client_ip
from clinic.staff_identity import SETTING, set_token

TOUCHED_KEY = "_clinic_staff_session_touched_at"

_BROWSERS = [
    ("Edge", r"Edg/"),
    ("Firefox", r"Firefox/"),
    ("Chromium", r"Chromium/"),
    ("Chrome", r"Chrome/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11"),
]


def user_agent_summary(user_agent: str) -> str:
    """'Firefox on Windows': enough to recognise a device, without storing the full string."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(request: HttpRequest, user: Any) -> None:
    """Write (at sign-in) or refresh the row for the request's (already saved) session.

    The database lets each user write only their own rows (accounts/db_grants.py)."""
    key = request.session.session_key
    if not key:
        return
    now = timezone.now()
    seen = {
        "last_seen_at": now,
        "ip_address": _ip_or_none(client_ip(request)),
        "user_agent": user_agent_summary(request.META.get("HTTP_USER_AGENT", ""))[:100],
    }
    rows = StaffSession.objects.filter(session_key=digest(key), user=user)
    if not rows.update(**seen):
        StaffSession.objects.create(session_key=digest(key), user=user, created_at=now, **seen)
    request.session[TOUCHED_KEY] = time.time()


def move_row(old_key: str | None, request: HttpRequest) -> None:
    """After the session got a new key, its row names the new one."""
    new_key = request.session.session_key
    if old_key and new_key:
        StaffSession.objects.filter(session_key=digest(old_key)).update(session_key=digest(new_key))


def cycle_key(request: HttpRequest) -> None:
    """Give the session a new key (after a privilege change) and move its row along."""
    old_key = request.session.session_key
    request.session.cycle_key()
    move_row(old_key, request)


def end_sessions(
    user: Any,
    *,
    reason: str,
    by: Any = None,
    keep_key: str | None = None,
    using: str = "default",
) -> int:
    """End every session of `user` (except the one whose key is `keep_key`); returns how many
    were ended, and logs them (`log_ended`)."""
    rows = StaffSession.objects.using(using).filter(user=user)
    if keep_key:
        rows = rows.exclude(session_key=digest(keep_key))
    digests = list(rows.values_list("session_key", flat=True))
    ended = end_by_digest(digests, using=using)
    rows.delete()
    log_ended(user, ended, reason=reason, by=by, using=using)
    return len(digests)


def log_ended(
    user: Any, ended: int, *, reason: str, by: Any = None, using: str = "default"
) -> None:
    """One `session_ended` event for sessions of `user` ended from elsewhere, if any were live:
    `reason` is the cause, the object `staff:<id>` whose sessions they were. The author is `by`
    (an administrator) or else whoever is acting in this transaction: the user themself in
    their own request, an administrator saving the user in the admin. Never a key or digest."""
    if ended:
        access_log.record_change(
            access_log.SESSION_ENDED,
            object_id=f"staff:{user.pk}",
            outcome=f"{ended} ended",
            reason=reason,
            staff_id=getattr(by, "pk", None),
            using=using,
        )


@receiver(user_logged_in, dispatch_uid="accounts.sessions.signed_in")
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        # A session that is not saved yet has no key: save it so the row can name it.
        if not request.session.session_key:
            request.session.save()
        with transaction.atomic(using="default"):
            _name_the_user(user)
            record(request, user)


def _name_the_user(user: Any) -> None:
    """Sign-in, and sign-out by the idle or absolute limit, run before the request has a
    verified identity (it is anonymous, or not yet switched): name the user whose session this
    is, for this transaction only, so the database lets the web login write that user's own
    session row and nobody else's. The app mints the token (for the user who has just proved
    their password, or the session's own user); SQL cannot. A transaction that already names
    someone is left as it is."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT current_user, coalesce(current_setting(%s, true), '') = ''", [SETTING]
        )
        role, unnamed = cursor.fetchone()
    if unnamed:
        set_token("default", user.pk, role)


@receiver(user_logged_out, dispatch_uid="accounts.sessions.signed_out")
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    key = request.session.session_key if request is not None else None
    if key and user is not None:
        with transaction.atomic(using="default"):
            _name_the_user(user)
            StaffSession.objects.filter(session_key=digest(key)).delete()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="clinic.deactivated")
def _deactivated(sender: Any, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        end_sessions(instance, reason="deactivated", using=kwargs.get("using") or "default")


class StaffSessionMiddleware:
    """Refresh the signed-in session's row at most once a minute (real activity only)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.path not in NO_RENEW_PATHS:
            touched = request.session.get(TOUCHED_KEY, 0)
            if time.time() - touched >= settings.STAFF_SESSION_TOUCH_SECONDS:
                record(request, user)
        return self.get_response(request)
