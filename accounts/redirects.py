"""Where to go after a step: the `next` parameter when it is one of ours, else home."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, default: str = "home") -> str:
    target = request.GET.get("next", "")
    # Only a path on this site: a bare word would be taken by redirect() for a view name and
    # fail with NoReverseMatch (a 500 from a crafted link).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)
