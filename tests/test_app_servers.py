"""Two app server processes (gunicorn) share sessions through the database: sign in on one,
carry on on the other; idle timeout and sign-out hold across both. Persistent connections stay
bounded by the servers' threads however many requests they serve."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connections
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY

from accounts.session_store import SessionStore
from tests.server_helpers import (
    Browser,
    serve_on_a_free_port,
    start_gunicorn,
    stop,
    web_connections,
)

# Django's own Argon2 parameters (tests/hashers.py): the server processes run the real settings.
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.real_password_hasher]


THREADS = 4


@pytest.fixture(scope="module")
def app_servers(django_db_setup):
    """Two servers in the production configuration (gunicorn.conf.py), one worker each."""
    servers = []
    try:
        for _ in range(2):
            servers.append(serve_on_a_free_port(lambda p: start_gunicorn(p, threads=THREADS)))
        yield [f"http://127.0.0.1:{port}" for _process, port in servers]
    finally:
        for process, _port in servers:
            stop(process)


def test_sign_in_on_one_server_and_carry_on_on_the_other(app_servers, staff):
    first, second = app_servers
    browser = Browser()
    browser.sign_in(first, "t-clinician")
    status, _location, page = browser.request(second + "/")
    assert status == 200
    assert "Clinician" in page


def test_idle_timeout_holds_across_servers(app_servers, staff):
    first, second = app_servers
    browser = Browser()
    browser.sign_in(first, "t-frontdesk")
    assert browser.request(second + "/")[0] == 200  # activity stamps the session
    session = SessionStore(session_key=browser.session_key())
    session[SESSION_TIMEOUT_KEY] = session[SESSION_TIMEOUT_KEY] - settings.SESSION_IDLE_SECONDS - 5
    session.save()
    status, location, _ = browser.request(second + "/")
    assert status == 302 and location.endswith("expired=idle")
    status, location, _ = browser.request(first + "/")
    assert status == 302 and location.startswith("/account/sign-in/")


def test_sign_out_on_one_server_ends_the_session_on_the_other(app_servers, staff):
    first, second = app_servers
    browser = Browser()
    browser.sign_in(first, "t-analyst")
    status, _l, _p = browser.request(
        first + "/account/sign-out/", {"csrfmiddlewaretoken": browser.csrf(first)}
    )
    assert status == 302
    status, location, _ = browser.request(second + "/")
    assert status == 302 and location.startswith("/account/sign-in/")


def test_persistent_connections_stay_bounded_by_the_threads(app_servers, staff):
    """gunicorn keeps its threads, so each keeps one connection (DB_CONN_MAX_AGE) and reuses it:
    1,000 requests from 8 clients at once open at most one connection per thread."""
    connections.close_all()  # this process's own connections are not counted
    browsers = []
    for _ in range(8):
        browser = Browser()
        browser.sign_in(app_servers[0], "t-frontdesk")
        browsers.append(browser)

    def click(number: int) -> int:
        base = app_servers[number % 2]
        path = "/" if number % 3 else "/healthz"
        return browsers[number % len(browsers)].request(base + path)[0]

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = list(pool.map(click, range(1000)))
    assert statuses.count(200) == 1000, sorted(set(statuses))
    assert web_connections() <= 2 * THREADS
