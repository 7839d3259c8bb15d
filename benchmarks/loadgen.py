"""A small HTTP load generator (stdlib only), run as its own process against a loopback server.

    python -m benchmarks.loadgen --port 8765 --cookie sessionid=... --path /a/ --path /b/ \
        --threads 8 --seconds 10 [--max-requests 5000] [--signins-per-second 5 --username u]

Threads send GET requests round-robin over the paths (one connection per request: gunicorn's
sync workers close after each response) until the time or request budget is spent. With
--signins-per-second, a pacing thread starts one sign-in (login page, then the POSTed form) at
that rate on a pool of threads, so a slow sign-in does not delay the next one: the offered rate
is exact, and the completed rate shows whether the server keeps up. Prints one JSON object:
requests, errors, seconds, requests/s, p50/p95 in ms, sign-ins started/completed and their
latency.
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
from concurrent.futures import ThreadPoolExecutor

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
        conn.request("GET", "/account/sign-in/")
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
            "/account/sign-in/",
            body=form,
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{port}/account/sign-in/",
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
    signins: dict = {"started": 0, "ok": 0, "failed": 0, "seconds": []}

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

    def sign_in_once(password: str) -> None:
        started = time.perf_counter()
        ok = sign_in(args.port, args.username, password)
        with lock:
            signins["seconds"].append(time.perf_counter() - started)
            signins["ok" if ok else "failed"] += 1

    def signer(pool: ThreadPoolExecutor) -> None:
        """Start one sign-in every 1/rate seconds, whether or not earlier ones have finished."""
        password = os.environ.get("BENCH_PASSWORD", "")
        interval = 1 / args.signins_per_second
        next_at = time.monotonic()
        while not stop.is_set():
            pool.submit(sign_in_once, password)
            signins["started"] += 1
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    background, pool = None, None
    if args.signins_per_second:
        # Enough threads for ~6 s of sign-ins in flight before the offered rate would slip.
        pool = ThreadPoolExecutor(max_workers=max(4, int(args.signins_per_second * 6)))
        background = threading.Thread(target=signer, args=(pool,))
        background.start()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with lock:
        completed_in_window = signins["ok"]
    stop.set()
    if background and pool:
        background.join()
        pool.shutdown(wait=True)
    finished = sorted(signins["seconds"]) or [0.0]
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
        "signins_started": signins["started"],
        "signins_offered_per_second": signins["started"] / elapsed,
        "signins_per_second": completed_in_window / elapsed,
        "signin_p50_ms": finished[len(finished) // 2] * 1000,
        "signin_p95_ms": finished[max(0, int(len(finished) * 0.95) - 1)] * 1000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
