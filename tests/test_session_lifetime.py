"""Idle logout (sliding, 15 min by default) and the absolute lifetime, with a simulated clock:
the session's own timestamps are moved into the past, exactly what time passing would do."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY

from accounts.lifetime import STARTED_KEY

pytestmark = pytest.mark.usefixtures("clinic_db")


def age_session(client, *, idle: float = 0, absolute: float = 0) -> None:
    session = client.session
    session[SESSION_TIMEOUT_KEY] = session[SESSION_TIMEOUT_KEY] - idle
    session[STARTED_KEY] = session[STARTED_KEY] - absolute
    session.save()


def signed_in(client_for, user):
    client = client_for(user)
    assert client.get("/").status_code == 200  # stamps the session
    return client


def test_idle_session_is_signed_out(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    age_session(client, idle=settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?expired=idle"
    assert client.get("/").status_code == 302  # the session is gone, not just redirected


def test_activity_slides_the_idle_limit(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    age_session(client, idle=settings.SESSION_IDLE_SECONDS - 30)
    assert client.get("/").status_code == 200
    age_session(client, idle=settings.SESSION_IDLE_SECONDS - 30)
    assert client.get("/").status_code == 200


def test_absolute_lifetime_ends_an_active_session(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    age_session(client, absolute=settings.SESSION_ABSOLUTE_SECONDS + 1)
    response = client.get("/")
    assert response["Location"] == "/account/sign-in/?expired=absolute"


def test_status_polling_does_not_renew_the_session(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    started = time.monotonic()
    age_session(client, idle=settings.SESSION_IDLE_SECONDS - 40)
    left = client.get("/account/session/status").json()["seconds_left"]
    # 40 seconds were left when the session was aged, less however long the machine took since
    # (measured, not guessed): a renewal would show about SESSION_IDLE_SECONDS instead.
    assert 40 - (time.monotonic() - started) - 1 <= left <= 40
    assert client.get("/account/session/status").json()["seconds_left"] <= left


def test_stay_signed_in_renews_the_session(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    age_session(client, idle=settings.SESSION_IDLE_SECONDS - 40)
    renewed = client.post("/account/session/renew").json()["seconds_left"]
    assert renewed >= settings.SESSION_IDLE_SECONDS - 2


def test_renew_needs_post(client_for, staff):
    client = signed_in(client_for, staff["clinician"])
    assert client.get("/account/session/renew").status_code == 405


def test_expired_session_says_why_on_the_sign_in_page(client):
    response = client.get("/account/sign-in/?expired=idle")
    assert b"after a period of inactivity" in response.content


def test_expired_status_answers_json_not_a_redirect(client_for, staff):
    # The warning script must learn "signed out" from the answer; a redirect to the sign-in
    # page would hand it HTML and leave the page (and its PHI) on screen.
    client = signed_in(client_for, staff["clinician"])
    age_session(client, idle=settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/account/session/status")
    assert response.status_code == 200
    assert response.json() == {"signed_in": False, "seconds_left": 0, "reason": "idle"}
    assert client.get("/").status_code == 302


def test_status_for_an_outsider_works_too(client_for, staff):
    assert client_for(staff["outsider"]).get("/account/session/status").json()["signed_in"] is True


def test_sign_in_page_explains_a_sign_out_in_another_tab(client):
    response = client.get("/account/sign-in/?expired=signed-out")
    assert b"in another tab or window" in response.content
