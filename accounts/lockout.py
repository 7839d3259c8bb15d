"""What django-axes stores for a sign-in failure: a keyed fingerprint, never the typed username.

A username field receives whatever is typed into it: a password in the wrong box, a patient's
name pasted by mistake. Axes kept that text in clear in its tables, for the cool-off time and in
its failure log. `AXES_USERNAME_CALLABLE` points here, so axes counts, locks, resets and stores
`u:` + HMAC-SHA256 (blind index kind "username", clinic/blind_index.py) instead; lockouts per
username work exactly as before. The privacy console names a locked account by matching the
fingerprints of existing accounts; text that matches no account stays unreadable
("no such account"). `username` is also one of AXES_SENSITIVE_PARAMETERS, so the copy of the
POSTed form axes keeps masks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from clinic.blind_index import blind_index

PREFIX = "u:"


def username_key(username: str) -> str:
    """The fingerprint axes stores for `username` (as typed or as an account's name)."""
    return PREFIX + blind_index("username", username)


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the fingerprint of the username in the credentials or the form."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    if credentials:
        typed = credentials.get(field)
    else:
        data = getattr(request, "POST", None) or {}
        typed = data.get(field)
    if not isinstance(typed, str) or not typed:
        return None
    return username_key(typed)


def accounts_for(keys: Iterable[str]) -> dict[str, str]:
    """Fingerprint -> username for the fingerprints that belong to an existing account."""
    wanted = set(keys)
    if not wanted:
        return {}
    names = get_user_model().objects.values_list("username", flat=True)
    return {key: name for name in names.iterator() if (key := username_key(name)) in wanted}


def locked_out(field: str) -> list[dict]:
    """Usernames or addresses with at least AXES_FAILURE_LIMIT failures in the cool-off time."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=since)
        .exclude(**{field: None})
        .values(field)
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last")
    )
    return [
        {
            "value": r[field],
            "failures": r["failures"],
            "until": r["last"] + settings.AXES_COOLOFF_TIME,
        }
        for r in rows
    ]
