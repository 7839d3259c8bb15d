"""`make run` ends in `manage.py runserver`: it must start on the web role's connection (its
start-up check reads the migration list), serve the sign-in page, and keep serving for an hour
of clicking. The README's first command depends on it."""

from __future__ import annotations

import urllib.request

import pytest
from django.db import connections

from clinic import roles
from tests.conftest import make_staff
from tests.server_helpers import (
    Browser,
    serve_on_a_free_port,
    start_runserver,
    stop,
    web_connections,
)

# Django's own Argon2 parameters (tests/hashers.py): the server processes run the real settings.
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.real_password_hasher]

REQUESTS = 1000
# The server's own start-up connection plus the request in flight; a leak grows by one per request.
MOST_CONNECTIONS = 3


@pytest.fixture
def dev_server():
    # The default DB_CONN_MAX_AGE (60 s) is what `make run` uses; the command must override it.
    server, port = serve_on_a_free_port(start_runserver)
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
    finally:
        output = stop(server)
    assert "permission denied" not in output.lower()
    assert "Traceback" not in output


def test_the_development_server_starts_and_serves_the_sign_in_page(dev_server):
    with urllib.request.urlopen(f"{dev_server}/account/sign-in/") as page:  # noqa: S310
        assert page.status == 200
        assert b"csrfmiddlewaretoken" in page.read()


def test_a_thousand_requests_leave_no_database_connections_behind(dev_server):
    """Each request runs in a thread of its own; its database connection must close with it,
    or a few hundred clicks fill PostgreSQL's connection slots (200) and every page fails."""
    make_staff("t-clickfast", roles.FRONT_DESK)
    connections.close_all()  # this process's own connections are not counted
    browser = Browser()
    browser.sign_in(dev_server, "t-clickfast")
    statuses, most = [], 0
    for number in range(REQUESTS):
        # The home page runs under the staff member's role; /healthz asks the database too.
        path = "/" if number % 2 else "/healthz"
        statuses.append(browser.request(dev_server + path)[0])
        if number % 50 == 0:
            most = max(most, web_connections())
    assert statuses.count(200) == REQUESTS, sorted(set(statuses))
    assert most <= MOST_CONNECTIONS, f"{most} connections open during the run"
    assert web_connections() <= MOST_CONNECTIONS
