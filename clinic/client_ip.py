"""The client address used for lockout and the access log.

A client can put anything in X-Forwarded-For, so it is trusted only when the deployment says how
many proxies it runs in front of the app (TRUSTED_PROXY_COUNT); otherwise REMOTE_ADDR is used.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        # The address our outermost trusted proxy saw is `proxies` hops from the right.
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
