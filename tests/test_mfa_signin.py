"""The code step after the password: nothing else is reachable until it is passed, wrong codes
are counted per user and end the partial sign-in at the limit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import MfaFailures
from clinic import roles
from clinic.db_context import apply_context
from tests.conftest import PASSWORD, current_code, give_totp
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
VERIFY = "/account/mfa/verify/"


@pytest.fixture(autouse=True)
def no_device_throttle(settings):
    # django-otp's own back-off (1 s, 2 s, 4 s ...) would refuse quick retries; it is tested
    # by django-otp. Our per-user counter is what these tests are about.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def recovery_code(user: User, code: str = "abcd2345") -> str:
    device = StaticDevice(user=user, name="Recovery codes", confirmed=True)
    device.save(using="owner")
    StaticToken.objects.using("owner").create(device=device, token=code)
    return code


def test_device_holder_is_sent_to_the_code_step_after_the_password(client, staff):
    give_totp(staff["clinician"])
    response = sign_in(client, "t-clinician")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == f"{VERIFY}?next=%2F"


@pytest.mark.parametrize(
    "path", ["/", "/account/sessions/", "/account/mfa/setup/", "/account/password/", "/admin/"]
)
def test_nothing_but_the_code_step_is_reachable_before_the_code(client, staff, path):
    give_totp(staff["admin"])
    sign_in(client, "t-admin")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


def test_correct_code_completes_sign_in_and_returns_to_next(client, staff):
    device = give_totp(staff["privacy"])
    sign_in(client, "t-privacy")
    key_before = client.session.session_key
    response = client.post(f"{VERIFY}?next=/account/sessions/", {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/account/sessions/"
    assert client.session.session_key != key_before
    assert client.get("/").status_code == 200


def test_code_step_does_not_redirect_off_site(client, staff):
    device = give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    response = client.post(
        f"{VERIFY}?next=https://evil.example/", {"otp_token": current_code(device)}
    )
    assert response["Location"] == "/"


def test_a_code_cannot_be_used_twice(client, staff):
    device = give_totp(staff["clinician"])
    code = current_code(device)
    sign_in(client, "t-clinician")
    assert client.post(VERIFY, {"otp_token": code}).status_code == 302
    client.post("/account/sign-out/")
    sign_in(client, "t-clinician")
    response = client.post(VERIFY, {"otp_token": code})
    assert response.status_code == 200
    assert b"already used a moment ago" in response.content
    assert client.get("/").status_code == 302  # still at the code step


def test_recovery_code_signs_in_once(client, staff):
    give_totp(staff["clinician"])
    code = recovery_code(staff["clinician"])
    sign_in(client, "t-clinician")
    assert client.post(VERIFY, {"otp_token": code.upper()}).status_code == 302
    client.post("/account/sign-out/")
    sign_in(client, "t-clinician")
    assert client.post(VERIFY, {"otp_token": code}).status_code == 200
    assert not StaticToken.objects.using("owner").filter(token=code).exists()


def test_wrong_code_says_so_and_keeps_the_partial_sign_in(client, staff):
    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    response = client.post(VERIFY, {"otp_token": "000000"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert client.get(VERIFY).status_code == 200


def test_a_code_used_a_moment_ago_says_so_and_is_not_counted(client, staff):
    """A double click or a second tab: the code just accepted is refused (TOTP never accepts a
    code twice) with its own message, and counts neither as a wrong code nor in axes."""
    from axes.models import AccessAttempt

    device = give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    code = current_code(device)
    assert client.post(VERIFY, {"otp_token": code}).status_code == 302
    second_tab = Client()
    sign_in(second_tab, "t-clinician")
    response = second_tab.post(VERIFY, {"otp_token": code})
    assert response.status_code == 200
    assert b"already used a moment ago" in response.content
    assert b"did not match" not in response.content
    assert not MfaFailures.objects.using("owner").filter(user=staff["clinician"], count__gt=0)
    assert not AccessAttempt.objects.using("owner").exists()
    # Any other wrong code is still a counted guess.
    wrong = "000000" if code != "000000" else "111111"
    assert b"did not match" in second_tab.post(VERIFY, {"otp_token": wrong}).content
    assert MfaFailures.objects.using("owner").get(user=staff["clinician"]).count == 1


def test_fifth_wrong_code_ends_the_partial_sign_in(client, staff):
    device = give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    for _ in range(4):
        assert client.post(VERIFY, {"otp_token": "000000"}).status_code == 200
    response = client.post(VERIFY, {"otp_token": "000000"})
    assert response.status_code == 429
    assert b"Sign-in paused" in response.content
    # Signed out: even the right code now leads to the sign-in page.
    after = client.post(VERIFY, {"otp_token": current_code(device)})
    assert after.status_code == 302
    assert after["Location"].startswith("/account/sign-in/")


def test_wrong_codes_lock_the_password_sign_in_like_wrong_passwords(client, staff):
    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    for _ in range(5):
        client.post(VERIFY, {"otp_token": "000000"})
    assert sign_in(client, "t-clinician").status_code == 429


def test_signing_in_again_does_not_reset_the_wrong_code_count(client, staff, settings):
    # Axes forgets failures after a correct password; our counter must not.
    settings.AXES_FAILURE_LIMIT = 100
    give_totp(staff["clinician"])
    for _ in range(2):
        sign_in(client, "t-clinician")
        client.post(VERIFY, {"otp_token": "000000"})
        client.post(VERIFY, {"otp_token": "000000"})
        client.post("/account/sign-out/")
    sign_in(client, "t-clinician")
    assert client.post(VERIFY, {"otp_token": "000000"}).status_code == 429
    sign_in(client, "t-clinician")
    # Still locked at the code step, even before any new guess.
    assert client.get(VERIFY).status_code == 429


def test_correct_code_resets_the_wrong_code_count(client, staff):
    device = give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    client.post(VERIFY, {"otp_token": "000000"})
    client.post(VERIFY, {"otp_token": current_code(device)})
    assert not MfaFailures.objects.using("owner").filter(user=staff["clinician"]).exists()


def test_unlock_clears_wrong_codes_and_password_lockout(client, staff):
    from accounts.mfa import unlock

    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    for _ in range(5):
        client.post(VERIFY, {"otp_token": "000000"})
    with transaction.atomic(using="default"):  # in an administrator's request, as the admin does
        apply_context(roles.GROUP_ROLES[roles.ADMINISTRATOR], staff["admin"].pk)
        unlock(staff["clinician"])
    assert not MfaFailures.objects.using("owner").filter(user=staff["clinician"]).exists()
    assert sign_in(client, "t-clinician").status_code == 302
    assert client.get(VERIFY).status_code == 200


def test_user_without_a_device_and_not_required_skips_the_code_step(client, staff):
    sign_in(client, "t-frontdesk")
    assert client.get("/").status_code == 200
    assert client.get(VERIFY).status_code == 302


def test_outsider_with_a_device_gets_the_code_step_too(client, staff):
    give_totp(staff["outsider"])
    sign_in(client, "t-outsider")
    assert client.get("/")["Location"].startswith(VERIFY)


def test_anonymous_visitor_cannot_use_the_code_step(client):
    response = client.get(VERIFY)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_sign_out_and_session_status_stay_open_during_the_code_step(client, staff):
    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    assert client.get("/account/session/status").json()["signed_in"] is True
    assert client.post("/account/sign-out/").status_code == 302


def test_code_step_and_sign_in_never_echo_the_code(client, staff):
    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    response = client.post(VERIFY, {"otp_token": "123456"})
    assert b"123456" not in response.content


def test_code_password_field_is_not_recorded_by_axes(client, staff):
    from axes.models import AccessAttempt

    from accounts.lockout import username_key

    give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    client.post(VERIFY, {"otp_token": "987654"})
    attempt = AccessAttempt.objects.get(username=username_key("t-clinician"))
    assert "987654" not in attempt.post_data
    assert PASSWORD not in attempt.post_data
