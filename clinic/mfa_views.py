"""TOTP multi-factor authentication: the code step at sign-in, set-up, recovery codes."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import mfa
from clinic.forms import CodeForm
from clinic.reauth import mark_reauthenticated, reauthentication_required
from clinic.redirects import next_url
from clinic.staff_sessions import cycle_key

WRONG_CODE = "That code did not match. Check the time on your phone, or use a recovery code."


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in. Wrong codes are counted; at the limit the sign-in ends."""
    user = request.user
    if mfa.is_verified(user) or not mfa.has_device(user):
        return redirect(next_url(request))
    if request.method == "POST":
        mfa.hold_code_checks(user)
    if mfa.locked_out(user):
        return mfa.end_partial_sign_in(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.verify_code(user, form.cleaned_data["otp_token"])
        if device is not None:
            cycle_key(request)  # a new key for the fully signed-in session
            otp_login(request, device)
            mfa.clear_wrong_codes(user)
            mark_reauthenticated(request)
            return redirect(next_url(request))
        if mfa.record_wrong_code(request, user):
            return mfa.end_partial_sign_in(request)
        form.add_error("otp_token", WRONG_CODE)
    return render(request, "account/mfa_verify.html", {"form": form})


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "account/mfa_overview.html",
        {
            "device": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
            "codes_left": mfa.recovery_codes_left(user),
            "required": mfa.mfa_required(user),
        },
    )


@reauthentication_required
def setup(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the key), prove it with a code, get the recovery codes once."""
    user = request.user
    device = mfa.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            codes = mfa.confirm_device(user, device)
            cycle_key(request)
            otp_login(request, device)
            mark_reauthenticated(request)
            return render(request, "account/mfa_recovery_codes.html", {"codes": codes})
        form.add_error("otp_token", "That code did not match. Scan the code again and retry.")
    key = b32encode(device.bin_key).decode()
    return render(
        request,
        "account/mfa_setup.html",
        {
            "form": form,
            "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
            "key_groups": [key[i : i + 4] for i in range(0, len(key), 4)],
            "replacing": mfa.has_device(user),
            "required": mfa.mfa_required(user),
        },
    )


@reauthentication_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET: how many are left. POST: a fresh set of ten, shown once (the old ones stop working)."""
    user = request.user
    if not mfa.has_device(user):
        return redirect("mfa-setup")
    if request.method == "POST":
        codes = mfa.new_recovery_codes(user)
        return render(request, "account/mfa_recovery_codes.html", {"codes": codes})
    return render(
        request, "account/mfa_recovery_codes_left.html", {"left": mfa.recovery_codes_left(user)}
    )


@require_POST
@reauthentication_required
def remove(request: HttpRequest) -> HttpResponse:
    """Turn MFA off: only for staff it is optional for."""
    if mfa.mfa_required(request.user):
        raise PermissionDenied
    mfa.remove_devices(request.user)
    messages.success(request, "Two-step sign-in is off.")
    return redirect("mfa-overview")
