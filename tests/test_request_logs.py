"""Issue 16, item 2: server logs are PHI-free by construction. The development server and gunicorn
log the resolved route name, method, status and time, never a path or a query string: a name
typed into the address bar (path and query) appears in no log line of either."""

from __future__ import annotations

import logging

import pytest

from clinic import roles
from clinic.request_log import RequestLogFilter, ServerLogFilter, _take_last
from tests.conftest import make_staff
from tests.server_helpers import (
    Browser,
    free_port,
    start_gunicorn,
    start_runserver,
    stop,
    wait_until_serving,
)

# Django's own Argon2 parameters (tests/hashers.py): the server processes run the real settings.
# cluster_wide: the server log (tests/cluster_share.py).
pytestmark = [
    pytest.mark.usefixtures("clinic_db"),
    pytest.mark.real_password_hasher,
    pytest.mark.cluster_wide,
]
SENTINEL = "Zzyzxlogname"


def visit_with_typed_names(base: str) -> None:
    make_staff("t-logclinician", roles.CLINICIAN)
    browser = Browser()
    browser.request(f"{base}/{SENTINEL}/?q={SENTINEL}")  # anonymous, unknown path
    browser.sign_in(base, "t-logclinician")
    assert browser.request(f"{base}/patients/{SENTINEL}/?name={SENTINEL}")[0] == 404
    assert browser.request(f"{base}/?q={SENTINEL}")[0] == 200
    token = browser.csrf(base)
    # The development server parses the ICD-10-CM code set on the first lookup (seconds).
    status, _l, body = browser.request(
        f"{base}/icd10/lookup/", {"q": SENTINEL, "csrfmiddlewaretoken": token}, timeout=90
    )
    assert status == 200 and body == '{"results": []}'


def test_the_development_server_logs_routes_not_paths():
    port = free_port()
    server = start_runserver(port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, base)
        visit_with_typed_names(base)
    finally:
        output = stop(server)
    assert SENTINEL not in output
    assert "GET home 200" in output
    assert "GET unknown 404" in output
    assert "POST records:icd10-lookup 200" in output
    assert "GET healthz 200" in output
    assert "/patients/" not in output and "?q=" not in output


def test_gunicorn_logs_routes_not_paths():
    port = free_port()
    server = start_gunicorn(port, threads=2, access_log=True, GUNICORN_LOG_LEVEL="info")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, base)
        visit_with_typed_names(base)
    finally:
        output = stop(server)
    assert SENTINEL not in output
    assert '"GET home HTTP/1.1" 200' in output
    assert '"GET unknown HTTP/1.1" 404' in output
    assert '"POST records:icd10-lookup HTTP/1.1" 200' in output
    assert "/patients/" not in output and "?q=" not in output


def test_gunicorn_logs_a_malformed_request_line_without_it():
    """A request line gunicorn refuses never reaches Django; its own warning drops the line."""
    import socket

    port = free_port()
    server = start_gunicorn(port, threads=2, access_log=True, GUNICORN_LOG_LEVEL="info")
    try:
        wait_until_serving(server, f"http://127.0.0.1:{port}")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"{SENTINEL} /{SENTINEL} HTTP/1.1\r\n\r\n".encode())
            assert b"400" in sock.recv(1024)
    finally:
        output = stop(server)
    assert "Invalid request refused" in output
    assert SENTINEL not in output


def test_a_request_line_the_server_refuses_is_logged_without_it():
    """A malformed request never reaches Django: the record keeps only the status."""
    _take_last()  # what this test process's earlier requests left in the thread
    record = logging.LogRecord(
        "django.server",
        logging.WARNING,
        __file__,
        1,
        '"%s" %s %s',
        (f"BAD {SENTINEL}", "400", "-"),
        None,
    )
    record.status_code = 400
    ServerLogFilter().filter(record)
    assert record.getMessage() == "request refused 400"


def test_a_server_error_is_logged_by_route(rf):
    request = rf.get(f"/patients/{SENTINEL}/")
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "%s: %s",
        ("Internal Server Error", request.path),
        None,
    )
    record.request = request
    record.status_code = 500
    RequestLogFilter().filter(record)
    assert record.getMessage() == "Internal Server Error: unknown (500)"
