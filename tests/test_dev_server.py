"""`make run` ends in `manage.py runserver`: it must start on the web role's connection (its
start-up check reads the migration list) and serve the sign-in page. The README's first command
depends on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connections

pytestmark = pytest.mark.usefixtures("clinic_db")

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_development_server_starts_and_serves_the_sign_in_page():
    port = free_port()
    env = {**os.environ, "CLINIC_DB_NAME": connections["owner"].settings_dict["NAME"]}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, deadline = None, time.monotonic() + 60
        while status != 200 and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as page:  # noqa: S310
                    status = page.status
                    body = page.read()
            except OSError:
                time.sleep(0.2)
        assert status == 200, "the development server did not answer"
        assert b"csrfmiddlewaretoken" in body
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "permission denied" not in output.lower()
    assert "Traceback" not in output
