"""Per-event cost of appending to the access log, alone and under contention.

    .venv/bin/python -m benchmarks.access_log_append [--events 2000] [--threads 8]

Runs against a scratch database on the embedded cluster (created, migrated and provisioned
here, dropped afterwards) so the real access log is never touched. Every append is one
transaction on a clinic_web connection calling append_access_event, exactly as a request's
event would be (plus the request's own work, which is not measured). Prints events/s and the
50th/95th percentile latency for 1 writer and for N concurrent writers, then verifies the chain.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import threading
import time

import django

SCRATCH_DATABASE = "bench_access_log"


def setup_database() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from clinic import cluster

    cluster.drop_database(SCRATCH_DATABASE)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, SCRATCH_DATABASE)
    for alias in ("default", "owner"):
        settings.DATABASES[alias]["NAME"] = SCRATCH_DATABASE
        connections[alias].settings_dict["NAME"] = SCRATCH_DATABASE
        connections[alias].close()
    call_command("migrate", database="owner", verbosity=0)
    call_command("provision_db", verbosity=0, stdout=io.StringIO())


def web_connection():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=SCRATCH_DATABASE,
        user=db["USER"],
        password=db["PASSWORD"],
        sslmode=db["OPTIONS"].get("sslmode", "prefer"),
        sslrootcert=db["OPTIONS"].get("sslrootcert"),
        autocommit=True,
    )


def run(writers: int, events_per_writer: int) -> tuple[float, list[float]]:
    from clinic.access_log import APPEND_SQL

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers + 1)

    def writer(n: int) -> None:
        mine = []
        with web_connection() as conn:
            barrier.wait()
            for i in range(events_per_writer):
                started = time.perf_counter()
                conn.execute(APPEND_SQL, [n, "clinic_clinician", "chart_viewed", None, str(i),
                                          "127.0.0.1", "ok", ""])  # fmt: skip
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def report(label: str, elapsed: float, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    p50 = statistics.median(ordered) * 1000
    print(
        f"{label:<28} {len(latencies):>6} events  {len(latencies) / elapsed:>8.0f} events/s  "
        f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per scenario")
    parser.add_argument("--threads", type=int, default=8, help="concurrent writers")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    django.setup()
    from clinic import cluster
    from clinic.access_log_chain import verify_chain

    setup_database()
    try:
        run(1, 50)  # warm-up: connections, plans
        report("1 writer", *run(1, args.events))
        report(
            f"{args.threads} concurrent writers",
            *run(args.threads, max(1, args.events // args.threads)),
        )
        chain = verify_chain()
        print(
            f"chain: {'intact' if chain.ok else 'BROKEN'}, {chain.rows_checked} rows verified "
            f"in {chain.seconds:.2f}s ({chain.rows_checked / max(chain.seconds, 1e-9):.0f} rows/s)"
        )
    finally:
        if not args.keep:
            from django.db import connections

            for alias in ("default", "owner"):
                connections[alias].close()
            cluster.drop_database(SCRATCH_DATABASE)


if __name__ == "__main__":
    main()
