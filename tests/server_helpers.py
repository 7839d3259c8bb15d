"""Shared steps for tests that run the clinic in a real server process (runserver, gunicorn)
and talk to it over loopback HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from localdb import cluster, pooler
from tests.cluster_share import worker
from tests.conftest import PASSWORD, TEST_DATABASE

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on 127.0.0.1:`port` (Linux /proc/net/tcp)."""
    inodes = set()
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if local == f"0100007F:{port:04X}" and state == "0A":
                inodes.add(inode)
    return inodes


def _process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            queue.extend(int(child) for child in task.read_text().split())
    return pids


def owns_port(process: subprocess.Popen, port: int) -> bool:
    """Whether `process` (or a child: gunicorn's workers) is the one listening on `port`, and
    not some other program that took the port between free_port() and the server's bind."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    for pid in _process_tree(process.pid):
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except (FileNotFoundError, PermissionError):
            continue
        if links & inodes:
            return True
    return False


def serve_on_a_free_port(start, base_of=lambda port: f"http://127.0.0.1:{port}", tries: int = 5):
    """start(port) -> Popen on a port free a moment ago; tried again on another port if another
    program took it first (free_port() releases the port before the server binds it). Returns
    (process, port) once that process itself serves /healthz there."""
    for _attempt in range(tries):
        port = free_port()
        process = start(port)
        try:
            wait_until_serving(process, base_of(port))
            if owns_port(process, port):
                return process, port
        except RuntimeError:
            pass
        stop(process)
    raise RuntimeError(f"no server could be started on a free port in {tries} tries")


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server process on the test database."""
    return {
        **os.environ,
        "CLINIC_DB_NAME": TEST_DATABASE,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        **extra,
    }


def start_runserver(port: int, **extra_env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=server_env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_gunicorn(
    port: int, *, threads: int = 4, access_log: bool = False, **extra_env: str
) -> subprocess.Popen:
    """The production configuration (gunicorn.conf.py) with one worker; `access_log`: its
    access log (stdout) is captured too, for stop() to return."""
    env = server_env(
        **{
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_LOG_LEVEL": "warning",
            **extra_env,
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "clinic.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if access_log else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass(frozen=True)
class PrivatePooler:
    directory: Path
    ini: Path
    port: int


@contextmanager
def private_pooler(name: str) -> Iterator[PrivatePooler]:
    """A PgBouncer of the module's own, configured as this checkout's (localdb/pooler.py
    write_config: transaction mode, TLS on both sides, the same pool size), on a free port, so
    that another module (or the other test process) cannot restart it or share its pools
    (tests/cluster_share.py). Meanwhile CLINIC_POOLER_PORT points the app servers this process
    starts, and its own `pooler.show(...)`, at it. Stopped (if still running) at the end."""
    directory = cluster.cluster_dir() / f"pgbouncer-{name}-{worker() or 'single'}"
    port = free_port()
    ini = pooler.write_config(directory, port)
    pooler.start(ini, port)
    saved = os.environ.get("CLINIC_POOLER_PORT")
    os.environ["CLINIC_POOLER_PORT"] = str(port)
    try:
        yield PrivatePooler(directory, ini, port)
    finally:
        if saved is None:
            os.environ.pop("CLINIC_POOLER_PORT", None)
        else:
            os.environ["CLINIC_POOLER_PORT"] = saved
        pooler.stop(directory)


def wait_until_serving(process: subprocess.Popen, base: str, timeout: float = 60) -> None:
    """Until /healthz answers 200 (gunicorn's master parses the ICD-10-CM code set first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    """Stop the server; what it printed (if it was captured)."""
    process.terminate()
    output, errors = process.communicate(timeout=30)
    return (output or "") + (errors or "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client; cookies are per host, so several servers on 127.0.0.1 see
    the same session."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(
        self, url: str, data: dict | None = None, timeout: float = 10
    ) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Referer": url})  # noqa: S310
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def sign_in(self, base: str, username: str) -> None:
        _status, _loc, page = self.request(base + "/account/sign-in/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, location, _ = self.request(
            base + "/account/sign-in/",
            {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        )
        assert status == 302 and location == "/", status

    def session_key(self) -> str:
        return next(c.value for c in self.jar if c.name == settings.SESSION_COOKIE_NAME)

    def csrf(self, base: str) -> str:
        _s, _l, page = self.request(base + "/")
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def web_connections() -> int:
    """Server connections the web role holds to the test database right now."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = 'clinic_web'",
            [TEST_DATABASE],
        ).fetchone()
    return int(row[0])
