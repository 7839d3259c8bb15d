"""Who needs a second factor, the gate that enforces it, and the code checks behind it.

After the password, a user with a TOTP device must pass /account/mfa/verify before any other
page; a user who must have MFA and has none is held on /account/mfa/setup. Wrong codes count
per user (accounts.MfaFailures, not reset by a correct password) and as failed sign-ins in axes;
at MFA_FAILURE_LIMIT the partial sign-in ends.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import device_classes, devices_for_user
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts import lockout_guard
from accounts.models import MfaFailures
from clinic import roles
from clinic.staff import staff_group

log = logging.getLogger(__name__)
ROLES_REQUIRING_MFA = frozenset({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER})


def mfa_required(user: Any) -> bool:
    if settings.MFA_REQUIRED_FOR_ALL or getattr(user, "is_superuser", False):
        return True
    return staff_group(user) in ROLES_REQUIRING_MFA


def _confirmed_devices(user: Any) -> QuerySet | None:
    """The user ids of `user`'s confirmed devices, every device class in one UNION ALL (None if
    no device class is installed); `user` is a user, or OuterRef("pk") in a query over users:
    the one definition of "has a device" behind has_device and its annotation."""
    owned = [
        model.objects.filter(user=user, confirmed=True).values("user_id")
        for model in device_classes()
    ]
    if not owned:
        return None
    first, *rest = owned
    return first.union(*rest, all=True) if rest else first


def has_device(user: Any) -> bool:
    """Whether the user has a confirmed device of any kind: one statement (a UNION over the
    device tables, existence only) where django-otp's `user_has_device` reads the tables one
    by one and loads whole rows, secrets included; the gate asks on every request of a user
    not yet verified."""
    if not getattr(user, "is_authenticated", False):
        return False
    owned = _confirmed_devices(user)
    return owned is not None and owned.exists()


# The user's load (accounts/backends.py PasswordBackend.get_user) asks the same question in its
# own statement, so the gate, which runs before the view, needs no statement of its own.
HAS_DEVICE_AT_LOAD = "clinic_has_device"


def has_device_annotation() -> Any:
    """For `User.objects.annotate(...)`: whether the row's user has a confirmed device of any
    kind (one EXISTS over a UNION ALL of the device tables; secrets never read). One EXISTS per
    table, ORed, was planned twice each (probed per row and hashed) and PostgreSQL initialised
    both plans on every request: with the tables' own policies, pgaudit wrote 13 lines for the
    user's load on every signed-in page, 9 with the UNION (docs/benchmarks.md)."""
    owned = _confirmed_devices(OuterRef("pk"))
    return Value(False) if owned is None else Exists(owned)


def has_device_at_request_start(user: Any) -> bool:
    """has_device(), answered by the user's load when it asked (the state at the start of the
    request: for the gate, which runs before any view could add or remove a device)."""
    known = getattr(user, HAS_DEVICE_AT_LOAD, None)
    return bool(known) if known is not None else has_device(user)


def is_verified(user: Any) -> bool:
    return getattr(user, "otp_device", None) is not None


# --- codes -------------------------------------------------------------------------------------
def verify_code(user: Any, code: str) -> Device | None:
    """The confirmed device (TOTP or recovery codes) that accepts `code`, or None."""
    code = "".join(code.split()).lower()
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


WRONG_CODE = "That code did not match. Check the time on your phone, or use a recovery code."
USED_CODE = (
    "That code was already used a moment ago. Wait for the next code on your authenticator app "
    "and enter that one."
)


def was_just_used(user: Any, code: str) -> bool:
    """`code` is the TOTP code a confirmed device of `user` accepted last, still inside its
    time window (a double click, two tabs): TOTP refuses a code twice (RFC 6238, 5.2), so it
    failed, but it is no guess. Whoever types it already knew it."""
    code = "".join(code.split())
    if not code.isdigit():
        return False
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        current = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
        recent = current - device.tolerance <= device.last_t <= current + device.tolerance
        if recent and hmac.compare_digest(
            code, f"{hotp(device.bin_key, device.last_t, device.digits):0{device.digits}d}"
        ):
            return True
    return False


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None  # the device that accepted the code, or None
    locked: bool  # the wrong-code limit is reached: the caller ends the sign-in
    replayed: bool = False  # the code accepted a moment ago, typed again: not counted

    @property
    def accepted(self) -> bool:
        return self.device is not None

    @property
    def message(self) -> str:
        """What to say under the code field when it was not accepted."""
        return USED_CODE if self.replayed else WRONG_CODE


def check_code(request: HttpRequest, user: Any, code: str) -> CodeCheck:
    """The one wrong-code flow, for the code step at sign-in, re-authentication and break the
    glass (call `hold_code_checks` first, in the same transaction): a right code clears the
    count; a wrong one is counted here and in axes, and at the limit `locked` is set."""
    device = verify_code(user, code)
    if device is None and was_just_used(user, code):
        return CodeCheck(None, locked=False, replayed=True)
    if device is not None:
        # The database lowers a live count only under this clearance (accounts/lockout_guard.py).
        lockout_guard.clear("code", str(user.pk))
        clear_wrong_codes(user)
        return CodeCheck(device, locked=False)
    return CodeCheck(None, locked=record_wrong_code(request, user))


def failures(user: Any) -> int:
    row = MfaFailures.objects.filter(user=user).first()
    return row.current_count() if row else 0


def hold_code_checks(user: Any) -> None:
    """Lock the user's wrong-code counter until the request's transaction ends: one code check
    at a time per user. Concurrent guesses then cannot all pass the limit check at once, and two
    requests ending the same partial sign-in cannot deadlock (each took the access-log lock and
    axes' log row in a different order)."""
    MfaFailures.objects.select_for_update().get_or_create(user=user)


def locked_out(user: Any) -> bool:
    return failures(user) >= settings.MFA_FAILURE_LIMIT


def record_wrong_code(request: HttpRequest, user: Any) -> bool:
    """Count a wrong code (here and in axes, like a wrong password); True at the limit."""
    row, _ = MfaFailures.objects.select_for_update().get_or_create(user=user)
    row.count = row.current_count() + 1
    row.last_failure_at = timezone.now()
    row.save()
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    reached = row.count >= settings.MFA_FAILURE_LIMIT or getattr(request, "axes_locked_out", False)
    if reached:
        log.warning("MFA: wrong-code limit reached for staff id %s", user.pk)
    return reached


def clear_wrong_codes(user: Any) -> None:
    MfaFailures.objects.filter(user=user).delete()


def end_partial_sign_in(request: HttpRequest) -> HttpResponse:
    """Sign the user out and answer like the password lockout (same page, HTTP 429)."""
    from django.shortcuts import render

    from accounts.signals import sign_out

    sign_out(request, "locked_out")
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


def unlock(user: Any) -> None:
    """Lift a lockout: axes' password failures and the wrong-code count. (Axes forgets its
    own failures after a correct password, so the count cannot simply follow axes' rows.)"""
    from axes.utils import reset

    from accounts.lockout import username_key

    reset(username=username_key(user.get_username()))
    clear_wrong_codes(user)


# --- devices -----------------------------------------------------------------------------------
def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT fresh single-use ones."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# The key being set up lives in the session only, encrypted with the field keys (the session
# row is readable to the database's owner and in backups): no authenticator row exists until a
# code proves the app has the key, so merely opening the set-up page leaves nothing behind.
PENDING_KEY_SESSION = "_clinic_pending_totp_key"


def _pending_aad(user: Any) -> str:
    return f"session.pending_totp_key.{user.pk}"


def pending_device(request: HttpRequest) -> TOTPDevice:
    """The TOTP device being set up, unsaved: the same key across reloads of the page."""
    from clinic.encryption import DecryptionError, decrypt_value, encrypt_value

    user = request.user
    key = None
    stored = request.session.get(PENDING_KEY_SESSION)
    if isinstance(stored, str):
        try:
            key = decrypt_value(stored, _pending_aad(user))
        except DecryptionError:
            key = None
    if key is None:
        key = random_hex(20)
        request.session[PENDING_KEY_SESSION] = encrypt_value(key, _pending_aad(user))
    return TOTPDevice(user=user, name="Authenticator app", key=key, confirmed=False)


def verify_pending(device: TOTPDevice, code: str) -> bool:
    """Check a code against the unsaved device without writing it (django-otp's verify_token
    saves the device, throttle counts included)."""
    code = "".join(code.split())
    if not code.isdigit():
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(code), device.tolerance):
        return False
    device.last_t = totp.t()
    device.drift = totp.drift
    return True


def forget_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY_SESSION, None)


def confirm_device(user: Any, device: TOTPDevice) -> list[str]:
    """Make `device` (unsaved until now) the user's one authenticator, replacing any other and
    any unconfirmed row left from before; returns new recovery codes (shown once)."""
    TOTPDevice.objects.filter(user=user).delete()
    device.confirmed = True
    device.save()
    clear_wrong_codes(user)
    return new_recovery_codes(user)


def remove_devices(user: Any) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def reset_mfa(*, target: Any, by: Any, sender: Any) -> None:
    """An administrator removes a user's second factor; they set it up again at next sign-in."""
    from accounts import signals
    from accounts.sessions import end_sessions

    remove_devices(target)
    clear_wrong_codes(target)
    end_sessions(target, reason="mfa_reset", by=by)
    signals.mfa_reset.send(sender=sender, staff_id=by.pk, target_id=target.pk)
    log.info("MFA reset for staff id %s by staff id %s", target.pk, by.pk)


# --- the gate ----------------------------------------------------------------------------------
def _paths(*names: str) -> frozenset[str]:
    return frozenset(reverse(name) for name in names)


class MFAGateMiddleware:
    """Hold a signed-in user on the code step (or on setup, where MFA is required) until done."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._open: frozenset[str] | None = None

    def open_paths(self) -> frozenset[str]:
        if self._open is None:
            self._open = _paths(
                "accounts:sign-out", "accounts:session-status", "accounts:session-renew"
            )
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_verified(user):
            return self.get_response(request)
        path = request.path
        if path in self.open_paths():
            return self.get_response(request)
        if has_device_at_request_start(user):
            target = reverse("accounts:mfa-verify")
        elif mfa_required(user):
            target = reverse("accounts:mfa-setup")
            if path in _paths("accounts:mfa-setup", "accounts:reauthenticate"):
                return self.get_response(request)
        else:
            return self.get_response(request)
        if path == target:
            return self.get_response(request)
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(f"{target}?{query}" if query else target)


class VerifiedDeviceMiddleware(OTPMiddleware):
    """django-otp's middleware, loading the session's verified device without its secret.

    django-otp loads the whole device row on every request of a verified user only to know the
    device exists, is confirmed and is the user's; for a TOTP device that row carries the key,
    which the clinic decrypts on read (accounts/otp_secrets.py). The device is loaded here with
    its secret columns deferred, so a page neither decrypts nor holds the key: a later read of
    `device.key` (only code verification needs it, and it loads the device itself with
    `for_verify`) would fetch it then."""

    def _device_from_persistent_id(self, persistent_id: str) -> Device | None:
        persistent_id = self._normalize_persistent_id(persistent_id)
        try:
            model_label, device_id = persistent_id.rsplit("/", 1)
            device_cls = apps.get_model(model_label)
            if not issubclass(device_cls, Device):
                return None
            secret = [name for name in DEVICE_SECRETS if _has_field(device_cls, name)]
            return device_cls.objects.filter(id=int(device_id)).defer(*secret).first()
        except (ValueError, LookupError):
            return None


#: Device columns a request that only needs the device's existence does not read.
DEVICE_SECRETS = ("key",)


def _has_field(model: Any, name: str) -> bool:
    return any(field.name == name for field in model._meta.concrete_fields)
