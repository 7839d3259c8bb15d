"""A staff member's own account: the code step at sign-in, MFA set-up and recovery codes,
password change, "My sessions", and the idle-logout dialog's endpoints.

`session_status` reports the seconds left without renewing the session (the lifetime middleware
lists its path as no-activity); `session_renew` is the "Stay signed in" button: a POST, so it is
deliberate and CSRF-checked.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.forms import CodeForm, PasswordChangeForm
from accounts.lifetime import seconds_left
from accounts.models import StaffSession
from accounts.reauth import mark_reauthenticated, reauthentication_required
from accounts.redirects import next_url
from accounts.session_store import digest
from accounts.sessions import cycle_key, end_sessions, log_ended, move_row
from accounts.signals import sign_out

ENDED_BY_USER = "ended_by_user"


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
        check = mfa.check_code(request, user, form.cleaned_data["otp_token"])
        if check.device is not None:
            cycle_key(request)  # a new key for the fully signed-in session
            otp_login(request, check.device)
            mark_reauthenticated(request)
            return redirect(next_url(request))
        if check.locked:
            return mfa.end_partial_sign_in(request)
        form.add_error("otp_token", check.message)
    return render(request, "accounts/mfa_verify.html", {"form": form})


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/mfa_overview.html",
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
    device = mfa.pending_device(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.verify_pending(device, form.cleaned_data["otp_token"]):
            codes = mfa.confirm_device(user, device)
            mfa.forget_pending(request)
            cycle_key(request)
            otp_login(request, device)
            mark_reauthenticated(request)
            return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes})
        form.add_error("otp_token", "That code did not match. Scan the code again and retry.")
    key = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/mfa_setup.html",
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
        return redirect("accounts:mfa-setup")
    if request.method == "POST":
        codes = mfa.new_recovery_codes(user)
        return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes})
    return render(
        request, "accounts/mfa_recovery_codes_left.html", {"left": mfa.recovery_codes_left(user)}
    )


@require_POST
@reauthentication_required
def remove(request: HttpRequest) -> HttpResponse:
    """Turn MFA off: only for staff it is optional for."""
    if mfa.mfa_required(request.user):
        raise PermissionDenied
    mfa.remove_devices(request.user)
    messages.success(request, "Two-step sign-in is off.")
    return redirect("accounts:mfa-overview")


# --- password -----------------------------------------------------------------------------------


@reauthentication_required
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        old_key = request.session.session_key
        update_session_auth_hash(request, user)  # this session stays, under a new key
        move_row(old_key, request)
        ended = end_sessions(user, reason="password_changed", keep_key=request.session.session_key)
        messages.success(
            request,
            "Your password has changed."
            + (f" {ended} other session(s) were signed out." if ended else ""),
        )
        return redirect("accounts:my-sessions")
    return render(request, "accounts/password_change.html", {"form": form})


# --- 'My sessions': where a staff member is signed in, and ending any of it -----------------------


def get_staff_session_for_user(request: HttpRequest, pk: int) -> StaffSession:
    """The signed-in user's own session row; anyone else's is not found (404)."""
    row = StaffSession.objects.filter(pk=pk).first()
    if row is None or row.user_id != request.user.pk:
        raise Http404
    return row


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    sessions = StaffSession.objects.active_for(request.user)
    return render(
        request,
        "accounts/sessions.html",
        {"sessions": sessions, "current_key": digest(request.session.session_key or "")},
    )


@require_POST
@login_required
def end_session(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_staff_session_for_user(request, pk)
    if row.session_key == digest(request.session.session_key or ""):
        sign_out(request, ENDED_BY_USER)
        return redirect("accounts:sign-in")
    log_ended(request.user, row.end(), reason=ENDED_BY_USER)
    messages.success(request, "That session has ended.")
    return redirect("accounts:my-sessions")


@require_POST
@login_required
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = end_sessions(request.user, reason=ENDED_BY_USER, keep_key=request.session.session_key)
    messages.success(request, f"Ended {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("accounts:my-sessions")


# --- the idle-logout warning dialog's endpoints ------------------------------------------------


@require_GET
@never_cache
def session_status(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0})
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request)})


@require_POST
@never_cache
def session_renew(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0}, status=401)
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request)})
