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
import os
import statistics
import threading
import time

import django

SCRATCH_DATABASE = "bench_access_log"


def setup_database() -> None:
    from benchmarks import scratch

    scratch.create(SCRATCH_DATABASE)


def web_connection():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        sslmode=db["OPTIONS"].get("sslmode", "prefer"),
        sslrootcert=db["OPTIONS"].get("sslrootcert"),
        # The web connection's own limits and settings (no JIT), as a request would have.
        options=db["OPTIONS"].get("options", ""),
        autocommit=True,
    )


def run(writers: int, events_per_writer: int) -> tuple[float, list[float]]:
    from clinic.access_log import APPEND_SQL
    from clinic.staff_identity import NAME_SQL, name_params

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers + 1)

    def writer(n: int) -> None:
        mine = []
        naming = name_params(n + 1, "clinic_clinician")
        with web_connection() as conn:
            barrier.wait()
            for i in range(events_per_writer):
                started = time.perf_counter()
                # As in a request: the author named by a signed token, then the event.
                with conn.transaction():
                    conn.execute(NAME_SQL, naming)
                    conn.execute(APPEND_SQL, ["chart_viewed", None, str(i), "127.0.0.1", "ok", ""])
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


def single_vs_batched(staff_id: int, role: str, events: int, rounds: int = 3) -> dict[str, float]:
    """Events/s of one transaction appending `events` (a list page's patients) one statement
    each (`append_access_event`, as requests did before) and in one statement
    (`append_access_events`, as a request's held events are written now), on the current
    database of the default alias, named as `staff_id` in `role`; rounds alternate the order,
    medians. Appends real events to that database's log (a scratch database)."""
    import uuid

    from django.db import connections, transaction

    from clinic.access_log import APPEND_SQL, BATCH_APPEND_SQL
    from clinic.db_context import apply_context

    rows = [
        ["appointments_listed", str(uuid.uuid4()), str(uuid.uuid4()), "127.0.0.1", "ok", ""]
        for _ in range(events)
    ]

    def single() -> None:
        with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
            apply_context(role, staff_id)
            for row in rows:
                cursor.execute(APPEND_SQL, row)

    def batched() -> None:
        with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
            apply_context(role, staff_id)
            cursor.execute(BATCH_APPEND_SQL, [list(column) for column in zip(*rows, strict=True)])

    seconds: dict[str, list[float]] = {"single": [], "batched": []}
    ways = {"single": single, "batched": batched}
    for round_number in range(rounds + 1):
        order = ["single", "batched"] if round_number % 2 else ["batched", "single"]
        for name in order:
            started = time.perf_counter()
            ways[name]()
            if round_number:  # the first round warms plans and caches
                seconds[name].append(time.perf_counter() - started)
    return {name: events / statistics.median(taken) for name, taken in seconds.items()}


def figures(elapsed: float, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "events": len(ordered),
        "per_second": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
    }


def report(label: str, elapsed: float, latencies: list[float]) -> dict[str, float]:
    result = figures(elapsed, latencies)
    print(
        f"{label:<28} {result['events']:>6} events  {result['per_second']:>8.0f} events/s  "
        f"p50 {result['p50_ms']:6.2f} ms  p95 {result['p95_ms']:6.2f} ms"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per scenario")
    parser.add_argument("--threads", type=int, default=8, help="concurrent writers")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    django.setup()
    from clinic.access_log.chain import verify_chain

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
            from benchmarks import scratch

            scratch.drop(SCRATCH_DATABASE)


if __name__ == "__main__":
    main()
