"""The access log after years of use (issue 20, target 3): append, the per-patient report and
verification at 10k rows and at N rows, in one run.

    .venv/bin/python -m benchmarks.access_log_scale [--events 10000000] [--appends 4000]
    make bench BENCH_ARGS="--log-events 10000000"      # the same, as section 10 of make bench
    .venv/bin/python -m benchmarks.access_log_scale --indexes [--events N]   # the index set only

Two scratch databases (created, migrated, provisioned, dropped afterwards; the N one kept with
--keep, loaded onto again with --reuse): one log of 10k events, one of N. Then:
- appends (1 writer, 8 writers: events/s, p50, p95; benchmarks/access_log_append.py, a
  clinic_web connection per writer naming its author, as a request appends) on the 10k log and
  the N log in turn, ROUNDS times, medians: the machine is shared, and load that comes and goes
  weighs on both alike (two runs one after the other differed by 2x on the same log);
- the privacy officer's per-patient report (the page's count and first page, as
  clinic_privacy_officer under row-level security, privacy.selectors.patient_events_page);
- a full verification of the N log (`verify_access_log --full`) and an incremental one over the
  rows appended since (`verify_access_log`, from the checkpoint the full run recorded).

`--indexes` measures only the appends on the N log with and without the three indexes the
bootstrap drops (the varchar_pattern_ops twins Django adds beside the `action` and `hash` indexes,
which no query uses with LIKE, and the one-column `patient_id` index the report's index covers;
clinic/access_log/checkpoint.py), built again and dropped in turn (not timed).

The bulk rows carry a valid chain (hashed here exactly as the append function hashes: the full
verification walks them). They are loaded by the superuser with COPY, the log's secondary
indexes dropped first and built again afterwards (faster than growing them row by row; a grown
index is somewhat less dense than a built one), then VACUUM ANALYZE, as autovacuum would have
done. Patients: one per PER_PATIENT events, so that each patient has as many events as in a
100M-event log of 50,000 patients, whatever N is.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable

SCRATCH_DATABASE = "bench_access_log_scale"  # N events
SMALL_DATABASE = "bench_access_log_small"  # 10k events, measured in turn with the large one
SMALL = 10_000
PER_PATIENT = 2_000  # 100M events / 50,000 patients
REPORT_SAMPLES = 100
ROUNDS = 4  # append rounds on each log (medians)
PATIENT_ACTIONS = ("chart_viewed", "record_viewed", "appointments_listed", "chart_section_viewed")
YEARS = 10


def say(message: str) -> None:
    print(message, flush=True)


def patient_ids(events: int) -> list[str]:
    rng = random.Random(20)
    count = max(50, events // PER_PATIENT)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def _secondary_indexes(conn) -> list[tuple[str, str, str | None]]:
    return conn.execute(
        "SELECT i.indexrelid::regclass::text, coalesce(pg_get_constraintdef(c.oid), "
        "pg_get_indexdef(i.indexrelid)), c.conname "
        "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
        "WHERE i.indrelid = 'public.access_log'::regclass AND NOT i.indisprimary"
    ).fetchall()


def bulk_load(database: str, total: int, patients: list[str], span_end: datetime.datetime) -> float:
    """Append rows with a valid chain until the log holds `total` rows; seconds taken. The
    superuser's connection is in autocommit: each statement (the COPY too) commits by itself."""
    from localdb import cluster

    started = time.perf_counter()
    with cluster.superuser_connect(database) as conn:
        conn.execute("SET pgaudit.log = 'none'")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        head = conn.execute(
            "SELECT id, hash, count(*) OVER () FROM access_log ORDER BY id DESC LIMIT 1"
        ).fetchone()
        last_id, prev, have = head if head else (0, "0" * 64, 0)
        wanted = total - have
        if wanted <= 0:
            return 0.0
        indexes = _secondary_indexes(conn)
        for name, _definition, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE access_log DROP CONSTRAINT "{constraint}"')
            else:
                conn.execute(f"DROP INDEX {name}")
        rng = random.Random(last_id)
        # Spread over YEARS up to span_end, one event every `step` microseconds.
        step = int(YEARS * 365.25 * 86400e6 / max(total, 1))
        first = span_end - datetime.timedelta(microseconds=step * wanted)
        columns = (
            "id, occurred_at, staff_id, role, action, patient_id, object_id, client_ip, "
            "outcome, reason, prev_hash, hash"
        )
        statement = f"COPY access_log ({columns}) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            lines: list[str] = []
            for n in range(wanted):
                row_id = last_id + 1 + n
                at = (first + datetime.timedelta(microseconds=step * n)).isoformat(
                    timespec="microseconds"
                )
                staff = 2 + rng.randrange(200)
                if n % 5 == 0:
                    action, patient = "sign_in", ""
                else:
                    action, patient = PATIENT_ACTIONS[n % 4], rng.choice(patients)
                content = f"{row_id}|{at}|{staff}|clinic_clinician|{action}|{patient}||10.0.0.1|ok|"
                digest = hashlib.sha256(f"{prev}|{content}".encode()).hexdigest()
                lines.append(
                    f"{row_id}\t{at}+00\t{staff}\tclinic_clinician\t{action}\t"
                    f"{patient or chr(92) + 'N'}\t\t10.0.0.1\tok\t\t{prev}\t{digest}\n"
                )
                prev = digest
                if len(lines) >= 50_000:
                    copy.write("".join(lines))
                    lines = []
            if lines:
                copy.write("".join(lines))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('public.access_log', 'id'), %s)",
            [last_id + wanted],
        )
        for _name, definition, constraint in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE access_log ADD CONSTRAINT "{constraint}" {definition}')
            else:
                conn.execute(definition)
        conn.execute("VACUUM (ANALYZE) access_log")
        # The load's dirty pages written out now, not during the appends measured next.
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def report_times(patients: list[str], samples: int) -> dict[str, float]:
    """The per-patient report's two statements (the count and the first page of 50, newest
    first: privacy.selectors.patient_events_page, as the page runs them) as the privacy officer
    under row-level security, one distinct patient each time."""
    from django.db import connections, transaction

    from clinic.db_context import apply_context
    from privacy.selectors import patient_events_page

    timings = []
    total = 0
    for patient in random.Random(7).sample(patients, min(samples, len(patients))):
        started = time.perf_counter()
        with transaction.atomic(using="default"):
            apply_context("clinic_privacy_officer", 1)
            page = patient_events_page(uuid.UUID(patient), "-when", 1, 50)
        timings.append(time.perf_counter() - started)
        total = page.paginator.count
    connections["default"].close()
    ordered = sorted(timings)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "events_per_patient": total,
    }


def report_plan(patient: str) -> list[str]:
    """EXPLAIN ANALYZE of the report's page statement, as the privacy officer."""
    from django.db import connections, transaction

    from clinic.db_context import apply_context
    from privacy.selectors import patient_page_query

    sql, params = patient_page_query(patient, "-when", 50).query.sql_with_params()
    with transaction.atomic(using="default"):
        apply_context("clinic_privacy_officer", 1)
        with connections["default"].cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
            return [row[0] for row in cursor.fetchall()]


def append_rounds(
    events: int, writers: int, rounds: int, sides: dict[str, Callable[[], None]]
) -> dict[str, dict[str, dict]]:
    """Appends on each side in turn (1 writer, then `writers`), `rounds` times, the order swapped
    each round: on a shared machine, load that comes and goes then weighs on all alike. A side
    is a name and what sets it up (point at its database, build or drop indexes; not timed).
    Each figure is the median of its rounds."""
    from benchmarks import access_log_append as append

    names = ("1 writer", f"{writers} writers")
    runs: dict[str, dict[str, list]] = {side: {n: [] for n in names} for side in sides}
    order = list(sides)
    for n in range(rounds):
        for side in order if n % 2 == 0 else order[::-1]:  # neither always first
            sides[side]()
            append.run(1, 20)  # warm-up: connections, plans
            runs[side][names[0]].append(append.figures(*append.run(1, events // 2)))
            runs[side][names[1]].append(
                append.figures(*append.run(writers, max(1, events // writers)))
            )
    return {
        side: {
            name: {key: statistics.median(r[key] for r in results) for key in results[0]}
            for name, results in by_name.items()
        }
        for side, by_name in runs.items()
    }


def verification(full: bool) -> tuple[float, int, bool]:
    from clinic.access_log.chain import verify_and_checkpoint

    report = verify_and_checkpoint(full=full)
    return report.seconds, report.rows_checked, report.ok


def size(database: str) -> tuple[int, float]:
    from django.db import connections

    from benchmarks import scratch

    scratch.use_database(database)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*), pg_total_relation_size('access_log') FROM access_log")
        rows, size = cursor.fetchone()
    return rows, size / 1024**3


DATABASES = (SMALL_DATABASE, SCRATCH_DATABASE)
OLD_INDEXES = (
    "CREATE INDEX bench_old_action_like ON access_log (action varchar_pattern_ops)",
    "CREATE INDEX bench_old_hash_like ON access_log (hash varchar_pattern_ops)",
    "CREATE INDEX bench_old_patient ON access_log (patient_id)",
)
WITH_OLD, WITHOUT_OLD = "with the three (before)", "without them (now)"


def _old_indexes(present: bool) -> None:
    from clinic.access_log.checkpoint import REDUNDANT_INDEXES_SQL
    from localdb import cluster

    with cluster.superuser_connect(SCRATCH_DATABASE) as conn:
        conn.execute("SET pgaudit.log = 'none'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        for (name,) in conn.execute(REDUNDANT_INDEXES_SQL).fetchall():
            conn.execute(f'DROP INDEX "{name}"')
        if present:
            for definition in OLD_INDEXES:
                conn.execute(definition)
        conn.execute("CHECKPOINT")  # the build's pages written now, not during the appends


def index_comparison(total: int, events: int, writers: int) -> list[str]:
    """Appends on one N log with and without the three indexes, in turn; the summary lines."""
    from benchmarks import scratch

    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    say(f"\naccess log indexes: {total:,} events, {events} appends a round, {ROUNDS} rounds")
    try:
        scratch.create(SCRATCH_DATABASE)
        loaded = bulk_load(SCRATCH_DATABASE, total, patient_ids(total), now)
        say(f"  bulk load: {loaded:.0f} s")
        sides = {
            WITH_OLD: functools.partial(_old_indexes, True),
            WITHOUT_OLD: functools.partial(_old_indexes, False),
        }
        appended = append_rounds(events, writers, ROUNDS, sides)
    finally:
        scratch.drop(SCRATCH_DATABASE)
    lines = []
    for name in appended[WITHOUT_OLD]:
        now_, before = appended[WITHOUT_OLD][name], appended[WITH_OLD][name]
        lines.append(
            f"  append, {name:<10} events/s {now_['per_second']:7.0f} vs "
            f"{before['per_second']:7.0f} = {now_['per_second'] / before['per_second']:4.2f}x;"
            f"  p95 ms {now_['p95_ms']:6.2f} vs {before['p95_ms']:6.2f} = "
            f"{now_['p95_ms'] / before['p95_ms']:4.2f}x  (without the three vs with them)"
        )
    return lines


def run(total: int, events: int, writers: int, *, keep: bool = False, reuse: bool = False):
    """Both logs, then the measurements; returns the summary lines (benchmarks/run.py prints
    them with the rest). `reuse`: the N log kept by an earlier --keep run, if there is one."""
    from benchmarks import scratch
    from localdb import cluster

    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    patients = patient_ids(total)
    small_patients = patients[: max(5, SMALL // PER_PATIENT)]
    say(f"\n10. the access log at scale: {SMALL:,} and {total:,} events (two scratch databases, "
        f"measured in turn); {len(patients):,} patients at N ({PER_PATIENT} events each); "
        f"{writers} writers, {events} appends a round, {ROUNDS} rounds")  # fmt: skip
    try:
        scratch.create(SMALL_DATABASE)
        loaded = bulk_load(SMALL_DATABASE, SMALL, small_patients, now)
        seconds, rows, ok = verification(full=True)
        say(f"  bulk load to {SMALL:,}: {loaded:.1f} s; verified {rows:,} rows")
        with cluster.superuser_connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [SCRATCH_DATABASE]
            ).fetchone()
        if reuse and exists:
            scratch.use_database(SCRATCH_DATABASE)
        else:
            scratch.create(SCRATCH_DATABASE)
        loaded = bulk_load(SCRATCH_DATABASE, total, patients, now)
        say(f"  bulk load to {total:,}: {loaded:.0f} s")
        full_s, full_rows, full_ok = verification(full=True)
        say(f"  verify_access_log --full: {full_rows:,} rows in {full_s:.1f} s "
            f"({full_rows / max(full_s, 1e-9):,.0f} rows/s), "
            f"{'intact' if full_ok else 'BROKEN'}")  # fmt: skip
        say("  the report's page statement at N, as the privacy officer:")
        for line in report_plan(patients[0]):
            say(f"      {line}")
        sides = {db: functools.partial(scratch.use_database, db) for db in DATABASES}
        appended = append_rounds(events, writers, ROUNDS, sides)
        figures = {}
        for database, sample in ((SMALL_DATABASE, small_patients), (SCRATCH_DATABASE, patients)):
            rows, gib = size(database)
            figures[database] = {"rows": rows, "report": report_times(sample, REPORT_SAMPLES)}
            say(f"\n  at {rows:,} rows ({gib:.2f} GiB with indexes)")
            for name, result in appended[database].items():
                say(f"    append, {name:<10} {result['per_second']:7.0f} events/s  p50 "
                    f"{result['p50_ms']:6.2f} ms  p95 {result['p95_ms']:6.2f} ms "
                    "(medians)")  # fmt: skip
            report = figures[database]["report"]
            say(f"    per-patient report ({report['events_per_patient']} events for the "
                f"last patient): p50 {report['p50_ms']:.1f} ms  p95 "
                f"{report['p95_ms']:.1f} ms")  # fmt: skip
        scratch.use_database(SCRATCH_DATABASE)
        inc_s, inc_rows, inc_ok = verification(full=False)
        say(f"  verify_access_log (incremental, from the checkpoint): {inc_rows:,} rows in "
            f"{inc_s:.2f} s, {'intact' if inc_ok else 'BROKEN'}")  # fmt: skip
    finally:
        scratch.drop(SMALL_DATABASE)
        if not keep:
            scratch.drop(SCRATCH_DATABASE)
    key = f"{writers} writers"
    a, b = appended[SMALL_DATABASE][key], appended[SCRATCH_DATABASE][key]
    report = figures[SCRATCH_DATABASE]["report"]["p95_ms"]
    small_report = figures[SMALL_DATABASE]["report"]["p95_ms"]
    intact = "intact" if inc_ok and full_ok and ok else "BROKEN"
    return [
        f"  {'access log append, ' + key + ', events/s at N vs 10k':<52} "
        f"{b['per_second']:9.0f} vs {a['per_second']:9.0f}  = "
        f"{b['per_second'] / a['per_second']:5.2f}x (N = {figures[SCRATCH_DATABASE]['rows']:,})",
        f"  {'access log append, ' + key + ', p95 ms at N vs 10k':<52} {b['p95_ms']:9.2f} "
        f"vs {a['p95_ms']:9.2f}  = {b['p95_ms'] / a['p95_ms']:5.2f}x",
        f"  {'per-patient report p95 ms at N (target <= 200)':<52} {report:9.1f} "
        f"(10k: {small_report:.1f}; {'met' if report <= 200 else 'MISSED'})",
        f"  {'verify: incremental s vs full s':<52} {inc_s:9.2f} vs {full_s:9.1f}  "
        f"({inc_rows:,} vs {full_rows:,} rows; {intact})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size N")
    parser.add_argument("--appends", type=int, default=4_000, help="appends per stage")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument("--keep", action="store_true", help="keep the N-event database")
    parser.add_argument(
        "--reuse", action="store_true", help="load onto the N-event database an earlier --keep left"
    )
    parser.add_argument(
        "--indexes", action="store_true", help="only appends with and without the dropped indexes"
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.conf import settings

    if settings.PRODUCTION:
        raise SystemExit("Benchmarks generate synthetic data: never run them in production.")
    started = time.perf_counter()
    if args.indexes:
        summary = index_comparison(args.events, args.appends, args.writers)
    else:
        summary = run(args.events, args.appends, args.writers, keep=args.keep, reuse=args.reuse)
    say("\nSummary")
    for line in summary:
        say(line)
    say(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
