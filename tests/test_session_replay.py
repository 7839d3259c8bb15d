"""A stolen session cookie replayed from another browser after the session ended is refused:
after sign-out, idle expiry, the absolute lifetime, a password change, deactivation or an
administrator ending it; and the key changes at each step of signing in (no fixation).

The other session tests keep using the same test client, whose cookie the server deletes at
sign-out; here the old cookie value is copied into a fresh client, as an attacker would.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY

from accounts.lifetime import STARTED_KEY
from accounts.models import StaffSession
from accounts.session_store import digest
from accounts.sessions import end_sessions
from clinic import roles
from clinic.db_context import apply_context
from tests.conftest import PASSWORD, current_code, give_totp
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
COOKIE = settings.SESSION_COOKIE_NAME


def signed_in_browser(username: str) -> Client:
    client = Client()
    assert sign_in(client, username).status_code == 302
    assert client.get("/").status_code == 200
    return client


def stolen(client: Client) -> str:
    return client.cookies[COOKIE].value


def replay(cookie: str, path: str = "/") -> int:
    attacker = Client()
    attacker.cookies[COOKIE] = cookie
    return attacker.get(path).status_code


def assert_refused(cookie: str) -> None:
    attacker = Client()
    attacker.cookies[COOKIE] = cookie
    response = attacker.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_a_copied_cookie_works_while_the_session_lives(staff):
    # The control: replaying is what an attacker would do, and it works until the session ends.
    assert replay(stolen(signed_in_browser("t-clinician"))) == 200


def test_cookie_replayed_after_sign_out_is_refused(staff):
    client = signed_in_browser("t-clinician")
    cookie = stolen(client)
    assert client.post("/account/sign-out/").status_code == 302
    assert_refused(cookie)


def test_cookie_replayed_after_idle_expiry_is_refused(staff):
    client = signed_in_browser("t-frontdesk")
    cookie = stolen(client)
    session = client.session
    session[SESSION_TIMEOUT_KEY] = session[SESSION_TIMEOUT_KEY] - settings.SESSION_IDLE_SECONDS - 1
    session.save()
    # Nobody used the session since it went idle: the first request is the replay itself.
    assert_refused(cookie)
    assert_refused(cookie)


def test_cookie_replayed_after_the_absolute_lifetime_is_refused(staff):
    client = signed_in_browser("t-frontdesk")
    cookie = stolen(client)
    session = client.session
    session[STARTED_KEY] = session[STARTED_KEY] - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    assert_refused(cookie)


def test_cookie_replayed_after_a_password_change_is_refused(staff):
    other = signed_in_browser("t-clinician")
    cookie = stolen(other)
    client = signed_in_browser("t-clinician")
    response = client.post(
        "/account/password/",
        {"new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )
    assert response.status_code == 302
    assert_refused(cookie)
    assert replay(stolen(client)) == 200  # the browser that changed it carries on


def test_cookie_replayed_after_deactivation_is_refused(staff):
    client = signed_in_browser("t-analyst")
    cookie = stolen(client)
    user = staff["analyst"]
    user.is_active = False
    user.save(using="owner")
    assert_refused(cookie)


def test_cookie_replayed_after_an_administrator_ended_the_sessions_is_refused(staff):
    cookie = stolen(signed_in_browser("t-frontdesk"))
    with transaction.atomic(using="default"):  # in an administrator's request, as the admin does
        apply_context(roles.GROUP_ROLES[roles.ADMINISTRATOR], staff["admin"].pk)
        end_sessions(staff["frontdesk"], reason="ended_by_admin")
    assert_refused(cookie)
    assert not StaffSession.objects.using("owner").filter(user=staff["frontdesk"]).exists()


def test_cookie_replayed_after_ending_it_in_my_sessions_is_refused(staff):
    victim = signed_in_browser("t-clinician")
    cookie = stolen(victim)
    client = signed_in_browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(cookie))
    assert client.post(f"/account/sessions/{row.pk}/end/").status_code == 302
    assert_refused(cookie)


def test_a_cookie_planted_before_sign_in_is_not_signed_in_afterwards(staff):
    """Session fixation: the key the attacker planted is not the one that gets signed in."""
    client = Client()
    client.get("/account/sign-in/")
    client.session.save()
    planted = stolen(client)
    assert sign_in(client, "t-clinician").status_code == 302
    assert stolen(client) != planted
    assert_refused(planted)


def test_the_key_changes_again_when_the_code_is_accepted(staff):
    """After the password only, the session is partial; the code step issues a new key, and
    the partial key replayed afterwards is not signed in past the code step."""
    device = give_totp(staff["privacy"])
    client = Client()
    assert sign_in(client, "t-privacy", PASSWORD).status_code == 302
    partial = stolen(client)
    response = client.post("/account/mfa/verify/", {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert stolen(client) != partial
    assert client.get("/").status_code == 200
    assert_refused(partial)
