"""A small HTTP load generator (stdlib only), run as its own process against a loopback server.

    python -m benchmarks.loadgen --port 8765 --cookie sessionid=... --path /a/ --path /b/ \
        --threads 8 --seconds 10 [--max-requests 5000] [--signins-per-second 5 --username u]

Threads send GET requests round-robin over the paths (one connection per request: gunicorn's
sync workers close after each response) until the time or request budget is spent. With
--signins-per-second, one more thread signs in (login page, then the POSTed form) at that rate.
Prints one JSON object: requests, errors, seconds, requests/s, p50/p95 in ms, sign-ins done.
The password comes from the BENCH_PASSWORD environment variable, never the command line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import threading
import time
import urllib.parse

TOKEN_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sign_in(port: int, username: str, password: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/accounts/login/")
        response = conn.getresponse()
        body = response.read()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        token = TOKEN_RE.search(body)
        if not token:
            return False
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
        )
        conn.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{port}/accounts/login/",
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status == 302
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--signins-per-second", type=float, default=0)
    parser.add_argument("--username", default="")
    args = parser.parse_args()

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(args.max_requests))
    deadline = time.monotonic() + args.seconds
    stop = threading.Event()
    signins = {"ok": 0, "failed": 0, "seconds": []}

    def worker() -> None:
        mine, failed = [], 0
        while time.monotonic() < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            path = args.path[number % len(args.path)]
            started = time.perf_counter()
            status, _body = get(args.port, path, args.cookie)
            mine.append(time.perf_counter() - started)
            failed += status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    def signer() -> None:
        password = os.environ.get("BENCH_PASSWORD", "")
        interval = 1 / args.signins_per_second
        next_at = time.monotonic()
        while not stop.is_set():
            started = time.perf_counter()
            ok = sign_in(args.port, args.username, password)
            signins["seconds"].append(time.perf_counter() - started)
            signins["ok" if ok else "failed"] += 1
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    background = None
    if args.signins_per_second:
        background = threading.Thread(target=signer)
        background.start()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    if background:
        background.join()
    ordered = sorted(latencies) or [0.0]
    result = {
        "requests": len(latencies),
        "errors": errors[0],
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "signins_ok": signins["ok"],
        "signins_failed": signins["failed"],
        "signins_per_second": signins["ok"] / elapsed,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
