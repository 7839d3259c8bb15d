"""Re-authentication before sensitive changes (MFA devices, password, break the glass).

`reauthentication_required` sends the user to /account/reauthenticate unless they proved,
within REAUTH_SECONDS, every factor they have: the password, and a code if they have a device.
Signing in (and passing the code step) counts as such a proof.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

REAUTHENTICATED_KEY = "_clinic_reauthenticated_at"


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTHENTICATED_KEY] = time.time()


def recently_reauthenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTHENTICATED_KEY)
    return at is not None and time.time() - at <= settings.REAUTH_SECONDS


def reauthentication_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not recently_reauthenticated(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:reauthenticate')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped


def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        mark_reauthenticated(request)


def _connect() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(_signed_in, dispatch_uid="accounts.reauth.signed_in")


_connect()


@login_required
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Password (and code, if the user has a device) again; then back to `next`."""
    from django.shortcuts import render

    from accounts import mfa
    from accounts.forms import ReauthenticateForm
    from accounts.redirects import next_url
    from accounts.signals import sign_out

    user = request.user
    needs_code = mfa.has_device(user)
    if request.method == "POST" and needs_code:
        mfa.hold_code_checks(user)
    form = ReauthenticateForm(
        request.POST or None, user=user, request=request, needs_code=needs_code
    )
    if request.method == "POST":
        if form.is_valid():
            mark_reauthenticated(request)
            return redirect(next_url(request))
        if form.locked:
            return mfa.end_partial_sign_in(request)
        if getattr(request, "axes_locked_out", False):
            # Too many wrong passwords: axes answers with its lockout page; the session ends.
            sign_out(request, "locked_out")
    return render(request, "accounts/reauthenticate.html", {"form": form})
