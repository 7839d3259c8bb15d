"""Brute force against a real server: password and second-factor guesses from many addresses.

A gunicorn server on loopback runs the clinic with benchmarks.brute_force_settings (Argon2 that
counts every hash) and benchmarks.counting_wsgi (every second-factor check counted), so the
number of guesses the server actually *evaluated* is measured, not inferred from responses.
Clients bind their sockets to 127.0.0.N, so the server sees N different client addresses.

Used by tests/test_brute_force.py (small) and scripts/brute_force.py (1,000 guesses).
Loopback only, bounded in count and time.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.counting_hasher import read_counts

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 4
SERVER_CONCURRENCY = WORKERS * THREADS  # requests the server can evaluate at the same time
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    count_file: str

    def counts(self) -> dict[str, int]:
        return read_counts(self.count_file)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    db_name: str, count_file: str, *, trusted_proxies: int = 0, extra_env: dict | None = None
) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "CLINIC_DB_NAME": db_name,
        "DJANGO_SETTINGS_MODULE": "benchmarks.brute_force_settings",
        "CLINIC_HASH_COUNT_FILE": count_file,
        "TRUSTED_PROXY_COUNT": str(trusted_proxies),
        "OTP_TOTP_THROTTLE_FACTOR": "0",  # measure our own limit, not django-otp's back-off
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.counting_wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--backlog",
            "256",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{count_file}.log", "ab"),  # noqa: SIM115  (the server's own log)
    )
    server = Server(process, port, count_file)
    deadline = time.monotonic() + 60
    while True:
        try:
            status, _, _ = WebClient(port, "127.0.0.1").request("GET", "/healthz")
            if status == 200:
                return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("app server did not start")
        time.sleep(0.3)


@dataclass
class WebClient:
    """A browser from one source address: cookies, the CSRF token, no redirects followed."""

    port: int
    source: str
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""
    forwarded_for: str = ""

    def request(self, method: str, path: str, fields: dict | None = None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        sent = {"Host": f"127.0.0.1:{self.port}", "Referer": f"http://127.0.0.1:{self.port}/"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            sent["X-Forwarded-For"] = self.forwarded_for
        sent.update(headers or {})
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.token, **fields})
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            page = response.read().decode(errors="replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location", ""), page
        finally:
            connection.close()

    def open_page(self, path: str) -> tuple[int, str]:
        status, location, page = self.request("GET", path)
        match = TOKEN.search(page)
        if match:
            self.token = match.group(1)
        return status, location

    def sign_in(self, username: str, password: str) -> tuple[int, str]:
        self.cookies.clear()
        self.open_page("/account/sign-in/")
        status, location, _ = self.request(
            "POST", "/account/sign-in/", {"username": username, "password": password}
        )
        return status, location


def address(n: int) -> str:
    """The n-th client address (127.0.0.2 upwards; 127.0.0.1 is the harness's own)."""
    return f"127.0.0.{n + 2}"


@dataclass
class Result:
    guesses: int
    statuses: Counter
    evaluated: int
    seconds: float
    extra: dict = field(default_factory=dict)


def _run_guesses(clients: list[WebClient], guess, guesses: int, burst: int, concurrency: int):
    """`burst` guesses released at once (a barrier), then the rest `concurrency` at a time."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(burst) if burst else None

    def one(n: int, wait: bool) -> None:
        if wait and barrier is not None:
            barrier.wait(timeout=60)
        status = guess(clients[n % len(clients)], n)
        with lock:
            statuses[status] += 1

    with ThreadPoolExecutor(max_workers=max(burst, 1)) as pool:
        list(pool.map(lambda n: one(n, True), range(burst)))
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda n: one(n, False), range(burst, guesses)))
    return statuses


def password_attack(
    server: Server,
    username: str,
    *,
    guesses: int,
    addresses: int,
    burst: int,
    concurrency: int = 10,
    rotate_forwarded_for: bool = False,
) -> Result:
    """Wrong passwords for one account, from `addresses` client addresses."""
    clients = [WebClient(server.port, address(n)) for n in range(addresses)]
    for client in clients:
        client.open_page("/account/sign-in/")
    before = server.counts()["verify"] + server.counts()["encode"]

    def guess(client: WebClient, n: int) -> int:
        headers = {"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"} if rotate_forwarded_for else {}
        status, _, _ = client.request(
            "POST",
            "/account/sign-in/",
            {"username": username, "password": f"wrong-guess-{n:05d}"},
            headers,
        )
        return status

    started = time.monotonic()
    statuses = _run_guesses(clients, guess, guesses, burst, concurrency)
    counts = server.counts()
    return Result(
        guesses, statuses, counts["verify"] + counts["encode"] - before, time.monotonic() - started
    )


def mfa_attack(
    server: Server,
    username: str,
    password: str,
    *,
    guesses: int,
    addresses: int,
    burst: int,
    concurrency: int = 10,
) -> Result:
    """Wrong codes against sessions signed in with the (stolen) password. A client whose partial
    sign-in was ended signs in with the password again before its next guess."""
    clients = [WebClient(server.port, address(n)) for n in range(addresses)]
    locks = {id(client): threading.Lock() for client in clients}
    sign_ins: Counter = Counter()

    def ensure_partial_session(client: WebClient) -> bool:
        if client.cookies.get("sessionid"):
            return True
        status, location = client.sign_in(username, password)
        sign_ins[status] += 1
        if status == 302 and client.open_page("/account/mfa/verify/")[0] == 200:
            return True
        client.cookies.pop("sessionid", None)
        return False

    for client in clients:
        ensure_partial_session(client)
    before = server.counts()["mfa"]

    def guess(client: WebClient, n: int) -> int:
        with locks[id(client)]:
            if not ensure_partial_session(client):
                return 429
            cookies, token = dict(client.cookies), client.token
        code = f"{(n * 7919 + 13) % 1_000_000:06d}"
        probe = WebClient(server.port, client.source, cookies, token)
        status, location, _ = probe.request("POST", "/account/mfa/verify/", {"otp_token": code})
        if status == 429 or location.startswith("/account/sign-in/"):
            with locks[id(client)]:
                client.cookies.pop("sessionid", None)
        return status

    started = time.monotonic()
    statuses = _run_guesses(clients, guess, guesses, burst, concurrency)
    return Result(
        guesses,
        statuses,
        server.counts()["mfa"] - before,
        time.monotonic() - started,
        {"password sign-ins": dict(sign_ins)},
    )


def spray_with_forwarded_for(server: Server, *, usernames: int) -> Counter:
    """One source address, a different username and X-Forwarded-For per wrong password."""
    client = WebClient(server.port, address(200))
    client.open_page("/account/sign-in/")
    statuses: Counter = Counter()
    for n in range(usernames):
        status, _, _ = client.request(
            "POST",
            "/account/sign-in/",
            {"username": f"spray-{n}", "password": "wrong-guess"},
            {"X-Forwarded-For": f"203.0.113.{n + 1}"},
        )
        statuses[status] += 1
    return statuses
