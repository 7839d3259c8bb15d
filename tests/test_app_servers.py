"""Two app server processes (gunicorn) share sessions through the database: sign in on one,
carry on on the other; idle timeout and sign-out hold across both."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django_session_timeout.middleware import SESSION_TIMEOUT_KEY

from tests.conftest import PASSWORD, TEST_DATABASE

pytestmark = pytest.mark.usefixtures("clinic_db")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_servers(django_db_setup):
    servers = []
    env = {
        **os.environ,
        "CLINIC_DB_NAME": TEST_DATABASE,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clinic.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        servers.append((process, f"http://127.0.0.1:{port}"))
    for process, url in servers:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("app server did not start") from None
                time.sleep(0.2)
    yield [url for _process, url in servers]
    for process, _url in servers:
        process.terminate()
        process.wait(timeout=10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping client; cookies are per host, so both servers see the same session."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Referer": url})
        try:
            with self.opener.open(request, timeout=10) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def sign_in(self, base: str, username: str) -> None:
        _status, _loc, page = self.request(base + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, location, _ = self.request(
            base + "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        )
        assert status == 302 and location == "/", status

    def session_key(self) -> str:
        return next(c.value for c in self.jar if c.name == settings.SESSION_COOKIE_NAME)

    def csrf(self, base: str) -> str:
        _s, _l, page = self.request(base + "/")
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


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
    assert status == 302 and location.startswith("/accounts/login/")


def test_sign_out_on_one_server_ends_the_session_on_the_other(app_servers, staff):
    first, second = app_servers
    browser = Browser()
    browser.sign_in(first, "t-analyst")
    status, _l, _p = browser.request(
        first + "/accounts/logout/", {"csrfmiddlewaretoken": browser.csrf(first)}
    )
    assert status == 302
    status, location, _ = browser.request(second + "/")
    assert status == 302 and location.startswith("/accounts/login/")
