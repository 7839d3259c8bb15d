"""The database going away and coming back (issue #20): while it is away every page answers 503
with the plain "temporarily unavailable" page (no stack, nothing of the request), the app server
recovers by itself once it is back, and a write cut off in flight leaves nothing behind.

The app server (gunicorn, the production configuration, one worker) reaches the database through
a private PgBouncer of this test's own, so the outage is real without stopping the test cluster
the rest of the suite needs: the database's sessions of the web role are ended as a restart ends
them (pg_terminate_backend), and the pooler stops, so new connections are refused until it starts
again. PostgreSQL rolls back whatever a terminated session had not committed. Data are fake.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connections

from clinic import access_log
from clinic.access_log.chain import verify_chain
from localdb import cluster, pooler
from tests.conftest import TEST_DATABASE
from tests.patient_support import access_events, patient_count
from tests.server_helpers import (
    Browser,
    PrivatePooler,
    free_port,
    private_pooler,
    start_gunicorn,
    stop,
    wait_until_serving,
)

# cluster_wide: an app server through a pooler of its own, timed outage (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]
ACCESS_LOG_LOCK = "SELECT pg_advisory_xact_lock(hashtext('clinic.access_log'))"
NEW_PATIENT = {
    "first_name": "Outage",
    "last_name": "Testperson",
    "date_of_birth": "1980-04-30",
    "ssn": "900000077",
    "address": "",
    "state": "",
    "phone": "",
    "email": "",
}


@dataclass
class Outage:
    """A private pooler in front of the test database, and an app server behind it."""

    pool: PrivatePooler
    base: str = ""

    def database_away(self) -> None:
        """As a restart: the web role's sessions end, and nothing new can connect."""
        connections.close_all()  # this process's own web-role connection is not the app's
        with cluster.superuser_connect(TEST_DATABASE) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND usename = 'clinic_web' AND pid <> pg_backend_pid()",
                [TEST_DATABASE],
            )
        pooler.stop(self.pool.directory)

    def database_back(self) -> None:
        pooler.start(self.pool.ini, self.pool.port)


@pytest.fixture(scope="module")
def outage(django_db_setup) -> Iterator[Outage]:
    with private_pooler("outage") as pool:
        state = Outage(pool)
        app_port = free_port()
        server = start_gunicorn(
            app_port, threads=4, CLINIC_DB_VIA_POOLER="1", CLINIC_POOLER_PORT=str(pool.port)
        )
        try:
            state.base = f"http://127.0.0.1:{app_port}"
            wait_until_serving(server, state.base)
            yield state
        finally:
            stop(server)


@pytest.fixture
def outage_app(outage: Outage) -> Iterator[Outage]:
    if not pooler.is_running(outage.pool.directory):
        outage.database_back()
    yield outage
    if not pooler.is_running(outage.pool.directory):
        outage.database_back()


def fetch(browser: Browser, url: str, data: dict | None = None) -> tuple[int, dict, str]:
    """Status, headers and body, whatever the status."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Referer": url})  # noqa: S310
    try:
        with browser.opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def until_served(browser: Browser, url: str, seconds: float = 30) -> int:
    """Requests sent until `url` answers 200 (the server is never restarted)."""
    deadline, sent = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        sent += 1
        if fetch(browser, url)[0] == 200:
            return sent
        time.sleep(0.2)
    raise AssertionError(f"no recovery within {seconds:.0f} s ({sent} requests)")


def assert_plain_503(status: int, headers: dict, body: str) -> None:
    assert status == 503
    assert headers.get("Retry-After") == "30"
    assert "Temporarily unavailable" in body
    for leak in ("Traceback", "psycopg", "OperationalError", "t-frontdesk", "5432", "127.0.0.1"):
        assert leak not in body


def test_pages_answer_a_plain_503_while_the_database_is_away_and_recover(outage_app, staff):
    browser = Browser()
    browser.sign_in(outage_app.base, "t-frontdesk")
    pages = ["/", "/patients/new/", "/patients/search/"]
    assert [fetch(browser, outage_app.base + page)[0] for page in pages] == [200, 200, 200]

    outage_app.database_away()
    for _round in range(2):
        for page in pages:
            assert_plain_503(*fetch(browser, outage_app.base + page))

    outage_app.database_back()
    # The same server, the same session: back by itself, on every page, for good.
    assert until_served(browser, outage_app.base + "/") <= 3
    for _round in range(3):
        assert [fetch(browser, outage_app.base + page)[0] for page in pages] == [200, 200, 200]
    assert fetch(browser, outage_app.base + "/healthz")[0] == 200


def blocked_on_the_access_log(seconds: float = 30) -> list[dict]:
    """The web-role sessions waiting for the access log's lock, with the locks they hold."""
    deadline = time.monotonic() + seconds
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT a.pid, array_agg(c.relname) FILTER (WHERE l.granted) "
                "FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                "LEFT JOIN pg_class c ON c.oid = l.relation "
                "WHERE a.datname = %s AND a.usename = 'clinic_web' AND a.wait_event = 'advisory' "
                "GROUP BY a.pid",
                [TEST_DATABASE],
            ).fetchall()
            if rows:
                return [{"pid": pid, "holds": set(names or [])} for pid, names in rows]
            time.sleep(0.05)
    raise AssertionError("the write never reached the access log")


def test_a_write_cut_off_in_flight_leaves_nothing_and_the_retry_saves_it_once(outage_app, staff):
    browser = Browser()
    browser.sign_in(outage_app.base, "t-frontdesk")
    url = outage_app.base + "/patients/new/"
    answer: list[tuple[int, dict, str]] = []
    # The access log's append waits while this transaction holds its lock: the registration is
    # then in flight, its patient row written but not committed.
    with cluster.superuser_connect(TEST_DATABASE) as holder:
        with holder.transaction():
            holder.execute(ACCESS_LOG_LOCK)
            form = {**NEW_PATIENT, "csrfmiddlewaretoken": browser.csrf(outage_app.base)}
            writer = threading.Thread(target=lambda: answer.append(fetch(browser, url, form)))
            writer.start()
            (blocked,) = blocked_on_the_access_log()
            assert "patient_identities" in blocked["holds"]  # the insert had happened
            outage_app.database_away()
            writer.join(timeout=30)
    assert not writer.is_alive()
    assert_plain_503(*answer[0])
    # Nothing of it: no patient, no event, and the log's chain intact.
    assert patient_count() == 0
    assert access_events(access_log.PATIENT_REGISTERED) == []
    assert verify_chain().ok

    outage_app.database_back()
    until_served(browser, outage_app.base + "/")
    form = {**NEW_PATIENT, "csrfmiddlewaretoken": browser.csrf(outage_app.base)}
    status, headers, _body = fetch(browser, url, form)
    assert status == 302 and "/patients/" in headers.get("Location", "")
    assert patient_count() == 1
    events = access_events(access_log.PATIENT_REGISTERED)
    assert [event["outcome"] for event in events] == ["ok"]
    assert verify_chain().ok
