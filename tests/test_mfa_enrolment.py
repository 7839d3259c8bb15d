"""Setting up TOTP: QR code and key, confirmation with a code, ten recovery codes shown once;
required for administrators and privacy officers (or everyone, by setting)."""

from __future__ import annotations

import re
from base64 import b32decode
from binascii import hexlify

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import PENDING_KEY_SESSION
from tests.conftest import current_code, give_totp
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
SETUP = "/account/mfa/setup/"


def key_on_page(content: bytes) -> str:
    match = re.search(rb'id="mfa-key">([A-Z2-7 ]+)<', content)
    assert match
    return match.group(1).decode().replace(" ", "")


def code_for_key(key: str) -> str:
    device = TOTPDevice(key=hexlify(b32decode(key)).decode())
    return current_code(device)


@pytest.mark.parametrize("persona", ["admin", "privacy"])
def test_role_that_needs_mfa_is_sent_to_setup_after_the_password(client, staff, persona):
    sign_in(client, f"t-{persona}")
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next=%2F"


@pytest.mark.parametrize("path", ["/", "/account/sessions/", "/admin/", "/account/mfa/"])
def test_nothing_else_is_reachable_until_mfa_is_set_up(client, staff, path):
    sign_in(client, "t-admin")
    assert client.get(path)["Location"].startswith(SETUP)


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "outsider"])
def test_other_roles_may_sign_in_without_mfa(client, staff, persona):
    sign_in(client, f"t-{persona}")
    assert client.get("/").status_code == 200


def test_setting_makes_mfa_required_for_all_staff(client, staff, settings):
    settings.MFA_REQUIRED_FOR_ALL = True
    for persona in ["t-frontdesk", "t-outsider"]:
        client.post("/account/sign-out/")
        sign_in(client, persona)
        assert client.get("/")["Location"].startswith(SETUP)


def test_setup_page_shows_a_server_side_qr_code_and_the_key(client, staff):
    sign_in(client, "t-admin")
    response = client.get(SETUP)
    assert response.status_code == 200
    assert b'src="data:image/svg+xml' in response.content
    assert len(key_on_page(response.content)) == 32
    assert b"<script" not in response.content.split(b"</head>")[1]
    # The same pending device across reloads: the QR code does not change under the user.
    assert key_on_page(client.get(SETUP).content) == key_on_page(response.content)


def test_confirming_with_a_code_turns_mfa_on_and_shows_ten_recovery_codes_once(client, staff):
    sign_in(client, "t-admin")
    key = key_on_page(client.get(SETUP).content)
    response = client.post(f"{SETUP}?next=/", {"otp_token": code_for_key(key)})
    assert response.status_code == 200
    codes = re.findall(rb"<li>([a-z2-7]{8})</li>", response.content)
    assert len(codes) == 10
    assert StaticToken.objects.using("owner").filter(device__user=staff["admin"]).count() == 10
    assert TOTPDevice.objects.using("owner").get(user=staff["admin"]).confirmed
    # Signed in fully now, and the codes are not shown again anywhere.
    assert client.get("/").status_code == 200
    assert codes[0] not in client.get("/account/mfa/").content


def test_wrong_code_does_not_turn_mfa_on(client, staff):
    sign_in(client, "t-admin")
    client.get(SETUP)
    response = client.post(SETUP, {"otp_token": "000000"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert (
        not TOTPDevice.objects.using("owner").filter(user=staff["admin"], confirmed=True).exists()
    )


def test_optional_user_can_turn_mfa_on_and_off(client, staff, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    sign_in(client, "t-clinician")
    key = key_on_page(client.get(SETUP).content)
    client.post(SETUP, {"otp_token": code_for_key(key)})
    assert (
        TOTPDevice.objects.using("owner").filter(user=staff["clinician"], confirmed=True).exists()
    )
    assert client.post("/account/mfa/remove/").status_code == 302
    assert not TOTPDevice.objects.using("owner").filter(user=staff["clinician"]).exists()


def test_required_user_cannot_turn_mfa_off(client_for, staff):
    client = client_for(staff["admin"])
    assert client.post("/account/mfa/remove/").status_code == 403
    assert TOTPDevice.objects.using("owner").filter(user=staff["admin"]).exists()


def test_replacing_the_device_needs_a_recent_re_authentication(client_for, staff, settings):
    client = client_for(staff["privacy"])
    assert client.get(SETUP).status_code == 200  # signing in counts, for REAUTH_SECONDS
    settings.REAUTH_SECONDS = 0
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/")


def test_new_recovery_codes_replace_the_old_ones(client_for, staff):
    from django.db import transaction

    from accounts.mfa import new_recovery_codes
    from clinic.db_context import apply_context

    client = client_for(staff["privacy"])
    with transaction.atomic(using="default"):  # as the user's own request would
        apply_context("clinic_privacy_officer", staff["privacy"].pk)
        old = new_recovery_codes(staff["privacy"])
    assert b"10 unused recovery codes" in client.get("/account/mfa/recovery-codes/").content
    response = client.post("/account/mfa/recovery-codes/")
    new = re.findall(rb"<li>([a-z2-7]{8})</li>", response.content)
    assert len(new) == 10
    assert not StaticToken.objects.using("owner").filter(token__in=old).exists()


def test_security_page_shows_status_without_secrets(client_for, staff):
    device = give_totp(staff["admin"])
    response = client_for(staff["admin"]).get("/account/mfa/")
    assert response.status_code == 200
    assert b"On: an authenticator app" in response.content
    assert device.key.encode() not in response.content


def test_outsider_sees_mfa_off_and_may_set_it_up(client_for, staff):
    response = client_for(staff["outsider"]).get("/account/mfa/")
    assert response.status_code == 200
    assert b"Off." in response.content


def test_anonymous_visitor_cannot_reach_setup(client):
    assert client.get(SETUP)["Location"].startswith("/account/sign-in/")


def test_opening_setup_creates_no_authenticator_row(client, staff):
    """Issue 16, item 18: the pending key is held encrypted in the session, not in a row."""
    sign_in(client, "t-admin")
    first = key_on_page(client.get(SETUP).content)
    client.get(SETUP)
    assert not TOTPDevice.objects.using("owner").filter(user=staff["admin"]).exists()
    # The key is in the session only as ciphertext.
    session = client.session
    stored = session[PENDING_KEY_SESSION]
    assert stored.startswith("v1:")
    assert hexlify(b32decode(first)).decode() not in stored
    assert first not in str(dict(session.items()))


def test_a_wrong_code_at_setup_leaves_no_row_and_the_same_key(client, staff):
    sign_in(client, "t-admin")
    key = key_on_page(client.get(SETUP).content)
    response = client.post(SETUP, {"otp_token": "000000"})
    assert b"did not match" in response.content
    assert key_on_page(response.content) == key
    assert not TOTPDevice.objects.using("owner").filter(user=staff["admin"]).exists()


def test_confirming_creates_exactly_one_row_and_forgets_the_pending_key(client, staff):
    sign_in(client, "t-admin")
    key = key_on_page(client.get(SETUP).content)
    client.post(SETUP, {"otp_token": code_for_key(key)})
    devices = TOTPDevice.objects.using("owner").filter(user=staff["admin"])
    assert [(d.confirmed, d.key) for d in devices] == [(True, hexlify(b32decode(key)).decode())]
    assert PENDING_KEY_SESSION not in client.session


def test_a_pending_key_from_another_user_is_not_taken_over(client, staff):
    """The ciphertext is bound to the user: copied into another user's session it does not
    decrypt, and that user gets a key of their own."""
    from accounts.mfa import _pending_aad
    from clinic.encryption import encrypt_value

    sign_in(client, "t-admin")
    session = client.session
    planted = "ab" * 20
    session[PENDING_KEY_SESSION] = encrypt_value(planted, _pending_aad(staff["privacy"]))
    session.save()
    key = key_on_page(client.get(SETUP).content)
    assert hexlify(b32decode(key)).decode() != planted
