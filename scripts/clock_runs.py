"""Run tests with the clock pinned at the awkward moments (`make test-clock`).

Each moment runs the given test modules with libfaketime (Debian's `faketime` package) preloaded
into pytest AND into the PostgreSQL server, so Python's `timezone.now()`/`localdate()` and the
database's `now()`/`clinic_today()` agree on the fake date. The clock is shifted by a fixed
offset (libfaketime's "+<seconds>" form): it reads the moment when the run starts and then runs on
normally, so timeouts and expiries still behave, and every process started during the run (the
server's backends, pytest-xdist's workers, the servers a test starts) reads the same time. The
"@<date time>" form is read in the process's own zone (TZ) and restarts at each new process:
xdist's workers, spawned after Django set TZ to the clinic's zone, read it five hours late.

The moments, in the clinic's TIME_ZONE (all in the future, inside the cluster's certificate
validity, which libfaketime cannot fake away):

- `utc-after-midnight`: the next 04:00 UTC, i.e. 23:00 or midnight the evening before in New
  York: the UTC date is already tomorrow, the clinic's is not;
- `new-years-eve`: the coming 31 December, 23:30 local (04:30 UTC on 1 January): every
  "this year" differs between the clinic and UTC;
- `leap-day`: the next 29 February, 12:00 local: no such day a year (or 5, 6, 7 years) back.

The cluster is stopped, restarted under the fake clock for each moment, and restarted on the
real clock at the end (even after a failure). Each moment uses its own test database.

    python scripts/clock_runs.py [--moment NAME ...] [pytest arguments ...]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import subprocess
import sys
import threading
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
PYTHON = ROOT / ".venv" / "bin" / "python"
ZONE = zoneinfo.ZoneInfo(os.environ.get("TIME_ZONE", "America/New_York"))


def moments(now: dt.datetime) -> dict[str, dt.datetime]:
    """The next occurrence of each awkward moment after `now` (an aware datetime), in UTC."""
    utc = now.astimezone(dt.UTC)
    four = utc.replace(hour=4, minute=0, second=0, microsecond=0)
    if four <= utc:
        four += dt.timedelta(days=1)
    local = now.astimezone(ZONE)
    eve = dt.datetime(local.year, 12, 31, 23, 30, tzinfo=ZONE)
    if eve <= now:
        eve = eve.replace(year=local.year + 1)
    year = local.year
    while True:
        try:
            leap = dt.datetime(year, 2, 29, 12, 0, tzinfo=ZONE)
        except ValueError:
            year += 1
            continue
        if leap > now:
            break
        year += 1
    return {
        "utc-after-midnight": four,
        "new-years-eve": eve.astimezone(dt.UTC),
        "leap-day": leap.astimezone(dt.UTC),
    }


def fake_env(at: dt.datetime, database: str) -> dict[str, str]:
    env = dict(os.environ)
    offset = round((at - dt.datetime.now(dt.UTC)).total_seconds())
    env.update(
        LD_PRELOAD=str(LIBFAKETIME),
        FAKETIME=f"{offset:+d}",  # seconds from the real clock: no zone, no restart per process
        TZ="UTC",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
        CLINIC_TEST_DB=database,
    )
    return env


def cluster(command: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(PYTHON), "-m", "localdb.cluster", command], cwd=ROOT, env=env, check=True)


def stop_started_servers() -> None:
    """The pooler and the standby that tests started keep the clock they were started with (the
    preload is in their environment): one left from a moment served the next moment, and then
    the real-clock runs after `make test-clock`, from the fake future (three replica tests
    failed right after a clock run). Stopped before each moment and at the end; the tests start
    them again when they need them."""
    for server in ("localdb.replica", "localdb.pooler"):
        subprocess.run([str(PYTHON), "-m", server, "stop"], cwd=ROOT, check=True)


CHECK = """
import datetime as dt, sys
from localdb import cluster
with cluster.superuser_connect() as conn:
    db_now = conn.execute("SELECT now()").fetchone()[0]
print(dt.datetime.now(dt.UTC).isoformat(), db_now.isoformat())
"""


def check_clocks(at: dt.datetime, env: dict[str, str]) -> None:
    """Both Python and the server really run on the fake clock (within ten minutes of `at`)."""
    out = subprocess.run(
        [str(PYTHON), "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    for seen in out:
        if abs(dt.datetime.fromisoformat(seen) - at) > dt.timedelta(minutes=10):
            raise SystemExit(f"the clock is not pinned: {seen}, expected about {at.isoformat()}")


STUCK_SQL = """
SELECT pid, usename, left(query, 60) FROM pg_stat_activity
WHERE datname = %s AND wait_event_type = 'Lock' AND now() - query_start > interval '15 seconds'
ORDER BY query_start LIMIT 1"""


@contextlib.contextmanager
def lock_watchdog(database: str) -> Iterator[None]:
    """PostgreSQL's timers (deadlock_timeout, statement_timeout, lock_timeout) do not fire in a
    server under libfaketime, so a deadlock that the real server breaks after a second hangs
    the run. This stands in for the deadlock detector, crudely and loudly: every 5 s, a backend
    of the test database waiting on a lock for over 15 s is terminated and named here."""
    sys.path.insert(0, str(ROOT))
    from localdb import cluster as localdb_cluster

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(5):
            try:
                with localdb_cluster.superuser_connect(database) as conn:
                    row = conn.execute(STUCK_SQL, [database]).fetchone()
                    if row:
                        conn.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                        print(f"\nclock runs: watchdog ended a backend stuck on a lock: {row}")
            except Exception:  # noqa: S112 (the test database is dropped and made per run)
                continue

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="run tests at pinned clock moments")
    parser.add_argument(
        "--moment", action="append", choices=sorted(moments(dt.datetime.now(dt.UTC)))
    )
    args, pytest_args = parser.parse_known_args(argv)
    if not LIBFAKETIME.exists():
        print(f"{LIBFAKETIME} is missing: apt-get install faketime")
        return 2
    chosen = moments(dt.datetime.now(dt.UTC))
    names = args.moment or list(chosen)
    failed = []
    try:
        for name in names:
            at = chosen[name]
            print(f"== {name}: {at:%Y-%m-%d %H:%M} UTC, {at.astimezone(ZONE):%Y-%m-%d %H:%M %Z}")
            env = fake_env(at, f"test_clock_{name.replace('-', '_')}")
            stop_started_servers()
            cluster("stop")
            cluster("up", env)
            check_clocks(at, env)
            with lock_watchdog(env["CLINIC_TEST_DB"]):
                result = subprocess.run(
                    [str(PYTHON), "-m", "pytest", "-p", "no:randomly", *pytest_args],
                    cwd=ROOT,
                    env=env,
                )
            if result.returncode != 0:
                failed.append(name)
    finally:
        stop_started_servers()
        cluster("stop")
        cluster("up")
    print("clock runs: " + (f"FAILED at {', '.join(failed)}" if failed else "all moments passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
