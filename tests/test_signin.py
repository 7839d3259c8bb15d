"""Sign-in and sign-out through the real login page, as the real web role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD, make_staff

pytestmark = pytest.mark.usefixtures("clinic_db")
LOGIN = "/account/sign-in/"


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_sign_in_page_renders_without_revealing_anything(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_staff_member_signs_in_and_lands_on_their_home(client, staff):
    response = sign_in(client, "t-clinician")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get("/")
    assert home.status_code == 200
    assert b"Clinician" in home.content


def test_session_key_changes_at_sign_in(client, staff):
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    sign_in(client, "t-frontdesk")
    assert client.session.session_key != before


def test_wrong_password_unknown_and_inactive_users_get_the_same_answer(client, staff):
    make_staff("t-inactive", None, is_active=False)
    answers = []
    for username, password in [
        ("t-frontdesk", "wrong-password-123"),
        ("t-nobody", PASSWORD),
        ("t-inactive", PASSWORD),
    ]:
        response = sign_in(client, username, password)
        answers.append(
            (
                response.status_code,
                response.content.replace(username.encode(), b"").replace(b'value=""', b""),
            )
        )
    assert answers[0][0] == 200
    assert len({a[0] for a in answers}) == 1
    for _status, body in answers:
        assert b"did not match an active account" in body


def test_sign_out_needs_post_and_ends_the_session(client, staff):
    sign_in(client, "t-analyst")
    assert client.get("/account/sign-out/").status_code == 405
    response = client.post("/account/sign-out/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_user_without_a_group_sees_no_role(client_for, staff):
    response = client_for(staff["outsider"]).get("/")
    assert b"No role assigned" in response.content


@pytest.mark.parametrize(
    "persona,text",
    [
        ("frontdesk", b"Front desk"),
        ("clinician", b"Clinician"),
        ("analyst", b"Analyst"),
        ("privacy", b"Privacy officer"),
        ("admin", b"Administrator"),
    ],
)
def test_each_role_has_its_home_page(client_for, staff, persona, text):
    response = client_for(staff[persona]).get("/")
    assert response.status_code == 200
    assert text in response.content


def test_only_administrators_see_the_admin_link(client_for, staff):
    assert b"/admin/" in client_for(staff["admin"]).get("/").content
    assert b"/admin/" not in client_for(staff["clinician"]).get("/").content


def test_not_found_page_reveals_nothing(client_for, staff):
    response = client_for(staff["clinician"]).get("/no-such-page/<script>")
    assert response.status_code == 404
    assert b"<script>" not in response.content
    assert b"Traceback" not in response.content


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/accounts/login/", "/account/sign-in/"),
        ("/accounts/logout/", "/account/sign-out/"),
        ("/session/status", "/account/session/status"),
        ("/session/renew", "/account/session/renew"),
    ],
)
def test_earlier_account_addresses_redirect_keeping_the_method(client, old, new):
    for method in (client.get, client.post):
        response = method(f"{old}?next=/patients/")
        assert response.status_code == 308  # a POST (sign-out) stays a POST
        assert response["Location"] == f"{new}?next=/patients/"


def test_sign_out_through_the_earlier_address_ends_the_session(client, staff):
    sign_in(client, "t-frontdesk")
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[0] == ("/account/sign-out/", 308)
    assert client.get("/").status_code == 302  # signed out: home sends to sign-in
