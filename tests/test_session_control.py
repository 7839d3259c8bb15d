"""'My sessions': listing and ending one's own sessions; password change and deactivation end
sessions; the bookkeeping row follows sign-in, activity and sign-out."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import StaffSession
from accounts.session_store import digest
from accounts.sessions import TOUCHED_KEY, user_agent_summary
from tests.conftest import PASSWORD
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
SESSIONS = "/account/sessions/"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)


def browser(username: str, user_agent: str = FIREFOX, ip: str = "10.1.1.1") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert sign_in(client, username).status_code == 302
    return client


def test_sign_in_records_the_session_with_device_and_address(staff):
    client = browser("t-clinician", CHROME_MAC, "10.2.3.4")
    row = StaffSession.objects.using("owner").get(session_key=digest(client.session.session_key))
    assert row.user == staff["clinician"]
    assert row.user_agent == "Chrome on macOS"
    assert row.ip_address == "10.2.3.4"


def test_my_sessions_lists_each_browser_and_marks_this_one(staff):
    browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician", FIREFOX)
    response = client.get(SESSIONS)
    assert response.status_code == 200
    assert response.content.count(b'class="staff-session') == 2
    assert b"Chrome on macOS" in response.content
    assert b"Firefox on Windows (this session)" in response.content.replace(
        b" <strong>", b" "
    ).replace(b"</strong>", b"")


def test_my_sessions_shows_only_my_own(staff):
    browser("t-clinician2")
    client = browser("t-clinician")
    assert client.get(SESSIONS).content.count(b'class="staff-session') == 1


def test_ending_another_session_signs_that_browser_out(staff):
    other = browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician", FIREFOX)
    row = StaffSession.objects.using("owner").get(session_key=digest(other.session.session_key))
    response = client.post(f"{SESSIONS}{row.pk}/end/")
    assert response.status_code == 302
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert not Session.objects.using("owner").filter(session_key=row.session_key).exists()


def test_ending_this_session_signs_out(staff):
    client = browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(client.session.session_key))
    assert client.post(f"{SESSIONS}{row.pk}/end/")["Location"] == "/account/sign-in/"
    assert client.get("/").status_code == 302


def test_someone_elses_session_cannot_be_ended(staff):
    victim = browser("t-clinician2")
    row = StaffSession.objects.using("owner").get(session_key=digest(victim.session.session_key))
    for username in ["t-clinician", "t-outsider"]:
        attacker = browser(username)
        assert attacker.post(f"{SESSIONS}{row.pk}/end/").status_code == 404
    assert victim.get("/").status_code == 200


def test_ending_needs_post(staff):
    client = browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(client.session.session_key))
    assert client.get(f"{SESSIONS}{row.pk}/end/").status_code == 405


def test_end_all_other_sessions(staff):
    others = [browser("t-clinician", CHROME_MAC) for _ in range(2)]
    client = browser("t-clinician")
    client.post(f"{SESSIONS}end-others/")
    assert all(o.get("/").status_code == 302 for o in others)
    assert client.get("/").status_code == 200


def test_sign_out_removes_the_row(staff):
    client = browser("t-clinician")
    key = client.session.session_key
    client.post("/account/sign-out/")
    assert not StaffSession.objects.using("owner").filter(session_key=digest(key)).exists()


def test_activity_is_recorded_at_most_once_a_minute_and_polling_never(staff):
    client = browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(client.session.session_key))
    client.get("/")
    assert StaffSession.objects.using("owner").get(pk=row.pk).last_seen_at == row.last_seen_at
    session = client.session
    session[TOUCHED_KEY] = time.time() - 61
    session.save()
    client.get("/account/session/status")
    assert StaffSession.objects.using("owner").get(pk=row.pk).last_seen_at == row.last_seen_at
    client.get("/")
    assert StaffSession.objects.using("owner").get(pk=row.pk).last_seen_at > row.last_seen_at


def test_idle_sessions_are_not_listed(staff, settings):
    old = browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician", FIREFOX)
    StaffSession.objects.using("owner").filter(session_key=digest(old.session.session_key)).update(
        last_seen_at=StaffSession.objects.using("owner")
        .get(session_key=digest(old.session.session_key))
        .last_seen_at.replace(year=2000)
    )
    assert client.get(SESSIONS).content.count(b'class="staff-session') == 1


def test_password_change_ends_the_other_sessions_and_keeps_this_one(staff):
    other = browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician")
    response = client.post(
        "/account/password/",
        {"new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert StaffSession.objects.using("owner").filter(user=staff["clinician"]).count() == 1
    assert (
        StaffSession.objects.using("owner")
        .filter(session_key=digest(client.session.session_key))
        .exists()
    )
    fresh = Client()
    assert sign_in(fresh, "t-clinician", "a-brand-new-passphrase-7").status_code == 302
    assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 200


def test_password_change_validates_the_new_password(staff):
    client = browser("t-clinician")
    response = client.post(
        "/account/password/", {"new_password1": "short", "new_password2": "short"}
    )
    assert response.status_code == 200
    assert b"too short" in response.content


def test_outsider_can_change_their_own_password(staff):
    client = browser("t-outsider")
    response = client.post(
        "/account/password/",
        {"new_password1": "outsider-passphrase-99", "new_password2": "outsider-passphrase-99"},
    )
    assert response.status_code == 302


def test_deactivating_a_user_ends_all_their_sessions(staff):
    clients = [browser("t-clinician") for _ in range(2)]
    user = staff["clinician"]
    user.is_active = False
    user.save(using="owner")
    assert all(c.get("/").status_code == 302 for c in clients)
    assert not StaffSession.objects.using("owner").filter(user=user).exists()


def test_anonymous_visitor_cannot_see_sessions(client):
    assert client.get(SESSIONS)["Location"].startswith("/account/sign-in/")


@pytest.mark.parametrize(
    "agent,summary",
    [
        (FIREFOX, "Firefox on Windows"),
        (CHROME_MAC, "Chrome on macOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Version/17.0 Safari/604.1", "Safari on iOS"),
        ("curl/8.0", "Unknown browser"),
    ],
)
def test_user_agent_summary(agent, summary):
    assert user_agent_summary(agent) == summary
