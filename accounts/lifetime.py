"""Idle and absolute session limits, built on django-session-timeout.

django-session-timeout keeps the last-activity timestamp in the session and signs the user out
when it is older than SESSION_EXPIRE_SECONDS. We add what it lacks:
- an absolute lifetime (SESSION_ABSOLUTE_SECONDS) whatever the activity;
- paths that read the time left without renewing it (the warning dialog's polling), so the
  server stays the authority on idle time;
- a hook so the sign-out is recorded before the session is flushed.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY, SessionTimeoutMiddleware

from accounts.signals import sign_out

STARTED_KEY = "_clinic_session_started_at"
# Requests to these paths never count as activity.
NO_RENEW_PATHS = frozenset(
    {
        "/account/session/status",
        # The patient-flow board's refresh (scheduling/flow_views.py board_rows).
        "/scheduling/board/rows",
        # The visit form's draft kept at expiry (records/drafts.py SAVE_PATH).
        "/visit-note-drafts/save",
    }
)
# The warning dialog's endpoints: answered in JSON, never with a redirect to the sign-in page
# (a script following that redirect would get HTML, not an answer).
JSON_PATHS = frozenset({"/account/session/status", "/account/session/renew"})


def now() -> float:
    return time.time()


def seconds_left(request: HttpRequest) -> int:
    """Seconds until the session ends by the idle or the absolute limit, whichever is first."""
    session = request.session
    current = now()
    idle_left = settings.SESSION_IDLE_SECONDS - (
        current - session.get(SESSION_TIMEOUT_KEY, current)
    )
    started = session.get(STARTED_KEY, current)
    absolute_left = settings.SESSION_ABSOLUTE_SECONDS - (current - started)
    # Rounded up: 0 only once the session is really over (the script signs out at 0).
    return max(0, math.ceil(min(idle_left, absolute_left)))


def on_expiry(request: HttpRequest, reason: str) -> None:
    """Record the end of a session; the accountability app replaces this hook's receiver."""
    from accounts import signals

    signals.session_expired.send(sender=SessionLifetimeMiddleware, request=request, reason=reason)


class SessionLifetimeMiddleware(SessionTimeoutMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not hasattr(request, "session") or request.session.is_empty():
            return None
        if not request.user.is_authenticated:
            return None
        current = now()
        session = request.session
        started = session.setdefault(STARTED_KEY, current)
        last = session.setdefault(SESSION_TIMEOUT_KEY, current)
        reason = None
        if current - started > settings.SESSION_ABSOLUTE_SECONDS:
            reason = "absolute"
        elif current - last > settings.SESSION_IDLE_SECONDS:
            reason = "idle"
        if reason:
            on_expiry(request, reason)
            sign_out(request, reason)
            if request.path in JSON_PATHS:
                return JsonResponse({"signed_in": False, "seconds_left": 0, "reason": reason})
            return redirect(f"{settings.LOGIN_URL_PATH}?expired={reason}")
        if request.path not in NO_RENEW_PATHS and current - last >= activity_step_seconds():
            session[SESSION_TIMEOUT_KEY] = current
        return None


def activity_step_seconds() -> int:
    """How far the last-activity time must have moved before a request records it again (and
    the session is saved for it): a sixtieth of the idle limit, at least a second (15 s of
    15 minutes). Clicks closer together than that cost no session write; the idle limit then
    ends up to that much *earlier* than the last click plus the limit, never later, and the
    warning dialog reads the time left from the server (`seconds_left`)."""
    return max(1, settings.SESSION_IDLE_SECONDS // 60)
