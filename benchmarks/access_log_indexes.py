"""The access log's index set (issue 20): appends with and without the three indexes the
bootstrap now drops, on the same N-event log, interleaved, in one run.

    .venv/bin/python -m benchmarks.access_log_indexes [--events 1000000] [--appends 4000]

The three: the varchar_pattern_ops twins Django adds beside the `action` and `hash` indexes (no
query on the log uses LIKE) and the one-column `patient_id` index (the per-patient report's
`access_log_patient_time` leads with patient_id; clinic/access_log/checkpoint.py). One scratch
database, bulk-loaded with a valid chain as benchmarks/access_log_scale.py loads it; then, ROUNDS
times, the appends (1 writer, then 8) with the three indexes built again and without them, the
order swapped each round so that load coming and going weighs on both alike. Building and
dropping the indexes is not timed. Medians of the rounds, side by side.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time

SCRATCH_DATABASE = "bench_access_log_indexes"
ROUNDS = 4
OLD_INDEXES = {
    "bench_old_action_like": "CREATE INDEX bench_old_action_like ON access_log "
    "(action varchar_pattern_ops)",
    "bench_old_hash_like": "CREATE INDEX bench_old_hash_like ON access_log "
    "(hash varchar_pattern_ops)",
    "bench_old_patient": "CREATE INDEX bench_old_patient ON access_log (patient_id)",
}
WITH, WITHOUT = "with the three (before)", "without them (now)"


def say(message: str) -> None:
    print(message, flush=True)


def _set_old_indexes(present: bool) -> None:
    from clinic.access_log.checkpoint import REDUNDANT_INDEXES_SQL
    from localdb import cluster

    with cluster.superuser_connect(SCRATCH_DATABASE) as conn:
        conn.execute("SET pgaudit.log = 'none'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        if present:
            for definition in OLD_INDEXES.values():
                conn.execute(definition)
        else:  # the same three, or Django's originals if this database still has them
            for (name,) in conn.execute(REDUNDANT_INDEXES_SQL).fetchall():
                conn.execute(f'DROP INDEX "{name}"')
        conn.execute("CHECKPOINT")  # the build's pages written now, not during the appends


def run(total: int, events: int, writers: int) -> list[str]:
    from benchmarks import access_log_append as append
    from benchmarks import scratch
    from benchmarks.access_log_scale import bulk_load, patient_ids

    names = ("1 writer", f"{writers} writers")
    runs: dict[str, dict[str, list]] = {v: {n: [] for n in names} for v in (WITH, WITHOUT)}
    say(f"\naccess log indexes: {total:,} events, {events} appends a round, {ROUNDS} rounds")
    try:
        scratch.create(SCRATCH_DATABASE)
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        loaded = bulk_load(SCRATCH_DATABASE, total, patient_ids(total), now)
        say(f"  bulk load: {loaded:.0f} s")
        scratch.use_database(SCRATCH_DATABASE)
        for n in range(ROUNDS):
            for variant in (WITH, WITHOUT) if n % 2 == 0 else (WITHOUT, WITH):
                _set_old_indexes(variant == WITH)
                append.run(1, 20)  # warm-up: connections, plans
                runs[variant][names[0]].append(append.figures(*append.run(1, events // 2)))
                runs[variant][names[1]].append(
                    append.figures(*append.run(writers, max(1, events // writers)))
                )
            say(f"  round {n + 1} done")
    finally:
        scratch.drop(SCRATCH_DATABASE)
    medians = {
        variant: {
            name: {key: statistics.median(r[key] for r in results) for key in results[0]}
            for name, results in by_name.items()
        }
        for variant, by_name in runs.items()
    }
    lines = []
    for name in names:
        now, before = medians[WITHOUT][name], medians[WITH][name]
        lines.append(
            f"  append, {name:<10} events/s {now['per_second']:7.0f} vs {before['per_second']:7.0f}"
            f" = {now['per_second'] / before['per_second']:4.2f}x;  p95 ms {now['p95_ms']:6.2f}"
            f" vs {before['p95_ms']:6.2f} = {now['p95_ms'] / before['p95_ms']:4.2f}x"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size N")
    parser.add_argument("--appends", type=int, default=4_000, help="appends per stage")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.conf import settings

    if settings.PRODUCTION:
        raise SystemExit("Benchmarks generate synthetic data: never run them in production.")
    started = time.perf_counter()
    lines = run(args.events, args.appends, args.writers)
    say(f"\nSummary (medians of {ROUNDS} rounds; now vs before)")
    for line in lines:
        say(line)
    say(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
