"""1,000 password guesses and 1,000 second-factor guesses against one account, from 50 client
addresses (127.0.0.2-51), opening with a burst of 50 concurrent requests; then the
X-Forwarded-For checks with and without TRUSTED_PROXY_COUNT. Real gunicorn on loopback, a
scratch database (clinic_bruteforce). Figures go to docs/security-testing.md.

    .venv/bin/python scripts/brute_force.py [--guesses 1000] [--addresses 50] [--burst 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import scratch_db  # noqa: E402
from benchmarks.brute_force import (  # noqa: E402
    SERVER_CONCURRENCY,
    mfa_attack,
    password_attack,
    spray_with_forwarded_for,
    start_server,
)

DB = "clinic_bruteforce"
LIMIT = 5  # AXES_FAILURE_LIMIT and MFA_FAILURE_LIMIT defaults


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guesses", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=50)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    scratch_db.prepare(
        DB,
        [
            ("bf-clinician", "Clinician", True, False),
            ("bf-privacy", "Privacy officer", True, True),
            ("bf-frontdesk", "Front desk", True, False),
        ],
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(DB, f"{tmp}/direct")
        try:
            size = {"guesses": args.guesses, "addresses": args.addresses, "burst": args.burst}
            result = password_attack(server, "bf-clinician", **size)
            ok &= report("password, no proxy", result, LIMIT)
            scratch_db.reset_lockouts(DB)
            result = mfa_attack(server, "bf-privacy", scratch_db.PASSWORD, **size)
            ok &= report("MFA code, no proxy", result, LIMIT)
            scratch_db.reset_lockouts(DB)
            statuses = spray_with_forwarded_for(server, usernames=20)
            print(f"spray with forged X-Forwarded-For, TRUSTED_PROXY_COUNT=0: {dict(statuses)}")
            ok &= statuses[429] == 20 - LIMIT + 1
        finally:
            server.stop()
        scratch_db.reset_lockouts(DB)
        server = start_server(DB, f"{tmp}/proxied", trusted_proxies=1)
        try:
            statuses = spray_with_forwarded_for(server, usernames=20)
            print(f"spray with X-Forwarded-For, TRUSTED_PROXY_COUNT=1: {dict(statuses)}")
            ok &= statuses == {200: 20}
            scratch_db.reset_lockouts(DB)
            result = password_attack(server, "bf-frontdesk", **size, rotate_forwarded_for=True)
            ok &= report("password, TRUSTED_PROXY_COUNT=1, rotating X-Forwarded-For", result, LIMIT)
        finally:
            server.stop()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def report(name: str, result, limit: int) -> bool:
    bound = limit + SERVER_CONCURRENCY
    print(
        f"{name}: {result.guesses} guesses in {result.seconds:.1f} s, responses "
        f"{dict(sorted(result.statuses.items()))}, evaluated {result.evaluated} "
        f"(bound {limit} + {SERVER_CONCURRENCY} = {bound}) {result.extra or ''}"
    )
    return result.evaluated <= bound and 500 not in result.statuses


if __name__ == "__main__":
    raise SystemExit(main())
