"""Account enumeration at sign-in: page, status and timing of unknown, inactive, locked and
wrong-password attempts, against real gunicorn on loopback (scratch database
clinic_enumeration). Figures go to docs/security-testing.md.

Like is compared with like: without a lockout, an unknown username, an inactive user and a wrong
password for an active user all get the sign-in form again (200); once locked, an existing and an
unknown username both get the lockout page (429), because axes locks by username whether the
account exists or not. Within each group the pages must be the same (CSRF token and the echoed
username aside) and the median response times within 5 %.

    .venv/bin/python scripts/enumeration_timing.py [--tries 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import scratch_db  # noqa: E402
from benchmarks.brute_force import WebClient, start_server  # noqa: E402

DB = "clinic_enumeration"
TOKEN = re.compile(r'value="[A-Za-z0-9]{64}"')


def normalised(page: str, username: str) -> str:
    return TOKEN.sub('value="TOKEN"', page).replace(username, "USERNAME")


def attempt(port: int, source: str, username: str, password: str) -> tuple[float, int, str]:
    client = WebClient(port, source)
    client.open_page("/account/sign-in/")
    started = time.perf_counter()
    status, _location, page = client.request(
        "POST", "/account/sign-in/", {"username": username, "password": password}
    )
    return time.perf_counter() - started, status, normalised(page, username)


def measure(port: int, cases: dict[str, str], tries: int, rotate: bool) -> dict[str, dict]:
    """`tries` attempts per case, interleaved (so drift hits all alike), after a warm-up."""
    found: dict[str, dict] = {
        name: {"times": [], "statuses": set(), "pages": set()} for name in cases
    }
    n = 0
    for i in range(tries + 5):
        for name, username in cases.items():
            n += 1
            source = f"127.0.{1 + n // 250}.{2 + n % 250}" if rotate else "127.0.0.2"
            seconds, status, page = attempt(port, source, username, f"wrong-guess-{i}")
            if i >= 5:
                found[name]["times"].append(seconds)
                found[name]["statuses"].add(status)
                found[name]["pages"].add(page)
    return found


def summarise(title: str, found: dict[str, dict]) -> bool:
    medians = {name: statistics.median(v["times"]) for name, v in found.items()}
    low, high = min(medians.values()), max(medians.values())
    spread = (high - low) / low
    statuses = {name: sorted(v["statuses"]) for name, v in found.items()}
    pages = set().union(*(v["pages"] for v in found.values()))
    print(f"{title}:")
    for name, median in medians.items():
        print(f"  {name:<24} median {median * 1000:7.1f} ms  status {statuses[name]}")
    print(f"  spread of medians {spread * 100:.1f} %  distinct pages {len(pages)}")
    return spread <= 0.05 and len(pages) == 1 and len({tuple(s) for s in statuses.values()}) == 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=200)
    args = parser.parse_args()
    scratch_db.prepare(
        DB,
        [
            ("en-active", "Clinician", True, False),
            ("en-inactive", "Clinician", False, False),
            ("en-locked", "Clinician", True, False),
        ],
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # No lockout during the measurement: every attempt reaches the password check.
        server = start_server(DB, f"{tmp}/a", extra_env={"AXES_FAILURE_LIMIT": "1000000"})
        try:
            found = measure(
                server.port,
                {
                    "unknown username": "en-nobody",
                    "inactive user": "en-inactive",
                    "wrong password": "en-active",
                },
                args.tries,
                rotate=False,
            )
            ok &= summarise("not locked (the sign-in form again)", found)
        finally:
            server.stop()
        server = start_server(DB, f"{tmp}/b")
        try:
            for n in range(5):  # lock both names from addresses not used below
                attempt(server.port, f"127.1.0.{n + 2}", "en-locked", "wrong")
                attempt(server.port, f"127.1.1.{n + 2}", "en-ghost", "wrong")
            found = measure(
                server.port,
                {"locked user": "en-locked", "locked unknown username": "en-ghost"},
                args.tries,
                rotate=True,  # at most two attempts per address: no address lockout
            )
            ok &= summarise("locked (the lockout page)", found)
        finally:
            server.stop()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
