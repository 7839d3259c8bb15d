"""Endpoints for the idle-logout warning dialog.

`status` reports the seconds left without renewing the session (the middleware lists its path as
no-activity); `renew` is the "Stay signed in" button: a POST, so it is deliberate and CSRF-checked.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic.sessions import seconds_left


@require_GET
@never_cache
def status(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0})
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request)})


@require_POST
@never_cache
def renew(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0}, status=401)
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request)})
