"""Every response scores at least 100 on the MDN HTTP Observatory rules and sends
Permissions-Policy: pages, error pages, the lockout page and static files."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")

HTTPS = override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)


def observatory_score(response) -> tuple[int, list[str]]:
    """The Observatory's scoring (v2 rules) for the headers a test can see."""
    score, notes = 100, []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip()
    )
    if not csp:
        score -= 25
        notes.append("no CSP")
    elif "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        score -= 20
        notes.append("CSP allows unsafe-inline/eval")
    elif directives.get("default-src") == "'none'" and "frame-ancestors" in directives:
        score += 10  # the bonus for default-src 'none' without unsafe sources
    hsts = response.headers.get("Strict-Transport-Security", "")
    max_age = int(hsts.split("max-age=")[1].split(";")[0]) if "max-age=" in hsts else 0
    if max_age < 15768000:
        score -= 20
        notes.append("HSTS missing or under six months")
    if response.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        score -= 5
        notes.append("no nosniff")
    if response.headers.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN") and (
        directives.get("frame-ancestors") != "'none'"
    ):
        score -= 20
        notes.append("framing allowed")
    if response.headers.get("Referrer-Policy") in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ):
        score += 5
    for cookie in response.cookies.values():
        if not cookie["secure"]:
            score -= 40
            notes.append(f"cookie {cookie.key} without Secure")
        if cookie.key in ("sessionid", "csrftoken") and not cookie["httponly"]:
            score -= 30
            notes.append(f"cookie {cookie.key} without HttpOnly")
        if not cookie["samesite"]:
            notes.append(f"cookie {cookie.key} without SameSite")  # no points; asserted below
    return score, notes


def assert_hardened(response):
    score, notes = observatory_score(response)
    assert score >= 100, notes
    assert not [n for n in notes if "SameSite" in n], notes
    assert "camera=()" in response.headers.get("Permissions-Policy", "")


@HTTPS
@pytest.mark.parametrize(
    "path",
    [
        "/account/sign-in/",
        "/healthz",
        "/no-such-page/",
        "/static/css/clinic.css",
        "/static/js/session-timeout.js",
    ],
)
def test_public_responses_are_hardened(client, path):
    assert_hardened(client.get(path, secure=True))


@HTTPS
@pytest.mark.parametrize(
    "persona,path",
    [
        ("clinician", "/"),
        ("analyst", "/admin/"),
        ("outsider", "/no-such-page/"),
    ],
)
def test_signed_in_pages_and_refusals_are_hardened(client_for, staff, persona, path):
    assert_hardened(client_for(staff[persona]).get(path, secure=True))


@HTTPS
def test_sign_in_sets_hardened_cookies(client, staff):
    response = sign_in(client, "t-clinician", secure=True)
    assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
    assert_hardened(response)


@HTTPS
def test_lockout_page_is_hardened(client, staff):
    for _ in range(5):
        sign_in(client, "t-clinician", "wrong-pass-1", secure=True, REMOTE_ADDR="10.0.0.1")
    response = sign_in(client, "t-clinician", "wrong-pass-1", secure=True, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert_hardened(response)


@HTTPS
def test_server_error_page_is_hardened_and_reveals_nothing(client_for, staff, monkeypatch):
    from clinic import views

    def explode(*args, **kwargs):
        raise RuntimeError("Testperson 900-00-0001 secret detail")

    monkeypatch.setattr(views, "HOME_TEMPLATES", None)  # home() fails on .get
    monkeypatch.setattr(views, "staff_group", explode)
    client = client_for(staff["clinician"])
    client.raise_request_exception = False
    response = client.get("/", secure=True)
    assert response.status_code == 500
    assert b"Testperson" not in response.content and b"900-00" not in response.content
    assert b"Traceback" not in response.content
    assert_hardened(response)


@HTTPS
def test_a_csrf_failure_gets_the_products_own_page(staff):
    """A form posted without its token (an expired page, another tab signed out): the clinic's
    page, hardened and styled by its own stylesheet, not Django's (which mentions DEBUG and whose
    inline styles the CSP blocks); nothing changed, nothing of the request echoed."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/account/sign-in/",
        {"username": "t-clinician", "password": "wrong-pass-1"},
        secure=True,
        HTTP_REFERER="https://testserver/account/sign-in/",
    )
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert b"DEBUG" not in response.content and b"<style" not in response.content
    assert b"t-clinician" not in response.content
    assert_hardened(response)


@HTTPS
def test_plain_http_is_redirected_to_https(client):
    response = client.get("/account/sign-in/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
