"""What pgaudit costs (issue #20, target 2): page throughput and p95 with pgaudit as configured
(localdb/cluster.py: `all, -misc`, one line per relation) against `pgaudit.log = none`, and
against the same with `pgaudit.log_statement_once = on` (every statement class and every line
still logged; a statement's text only on its first line, the others refer to it by statement
id), over several rounds, so the spread shows (min / median / max of each round's ratio). The
order of the variants rotates from round to round, so a drift in the machine's load does not
favour one of them.

Where the cost goes: the bytes and lines of audit log each variant writes per request for the
scratch database (the cluster logs to one file, server.log, without the logging collector;
other databases' lines are not counted). Every variant is set
with ALTER DATABASE on the scratch database; the app server is restarted for each (new
connections pick it up) and the database is reset at the end. Called from benchmarks/run.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

VARIANTS = {
    "as configured": {},
    "statement once": {"pgaudit.log_statement_once": "on"},
    "none": {"pgaudit.log": "none"},
}
PARAMETERS = ("pgaudit.log", "pgaudit.log_statement_once")
TARGET = 0.9  # throughput as configured >= 90% of none


def set_variant(dbname: str, values: dict[str, str]) -> None:
    from psycopg import sql

    from localdb import cluster

    with cluster.superuser_connect() as conn:
        for name in PARAMETERS:
            if name in values:
                statement = sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(dbname), sql.SQL(name), sql.Literal(values[name])
                )
            else:
                statement = sql.SQL("ALTER DATABASE {} RESET {}").format(
                    sql.Identifier(dbname), sql.SQL(name)
                )
            conn.execute(statement)


def log_size() -> int:
    from localdb import cluster

    try:
        return cluster.log_file().stat().st_size
    except OSError:
        return 0


def audit_since(offset: int, dbname: str) -> tuple[int, int]:
    """Bytes and lines of the scratch database's audit lines logged since `offset` (the log is
    the cluster's: other databases' lines, a test run's say, are not counted)."""
    from localdb import cluster

    marker, size, lines = f" db={dbname} ".encode(), 0, 0
    try:
        with open(cluster.log_file(), "rb") as log:
            log.seek(offset)
            for line in log:
                if marker in line and b"AUDIT: " in line:
                    size += len(line)
                    lines += 1
    except OSError:
        pass
    return size, lines


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def run(
    pages: dict[str, tuple[list[str], list[str]]],
    cookie: str,
    workers: int,
    seconds: float,
    dbname: str,
    rounds: int,
    say: Callable[[str], None],
) -> list[str]:
    from benchmarks import load

    names = list(VARIANTS)
    say(f"\n5. pgaudit's cost: {rounds} rounds x {len(names)} variants, {seconds:.0f} s per page")
    # figures[(variant, page)] = one dict per round
    figures: dict[tuple[str, str], list[dict]] = {(n, p): [] for n in names for p in pages}
    try:
        for number in range(rounds):
            order = names[number % len(names) :] + names[: number % len(names)]
            for name in order:
                set_variant(dbname, VARIANTS[name])
                with load.gunicorn(load.SECURE_SETTINGS, dbname, workers) as server:
                    for page, paths in pages.items():
                        load.load(server, cookie, paths[0], seconds=min(2.0, seconds))
                        start = log_size()
                        result = load.load(server, cookie, paths[0], seconds=seconds)
                        size, lines = audit_since(start, dbname)
                        result["log_bytes"] = size / max(1, result["requests"])
                        result["audit_lines"] = lines / max(1, result["requests"])
                        figures[(name, page)].append(result)
                        say(f"  round {number + 1} {name:<17} {page:<10} "
                            f"{result['rps']:7.1f} req/s  p95 {result['p95_ms']:7.1f} ms  log "
                            f"{result['log_bytes']:7.0f} B/request, "
                            f"{result['audit_lines']:5.1f} audit lines/request")  # fmt: skip
    finally:
        set_variant(dbname, {})

    lines = []
    for page in pages:
        for name in names[:-1]:
            rps = [
                mine["rps"] / none["rps"]
                for mine, none in zip(figures[(name, page)], figures[("none", page)], strict=True)
            ]
            p95 = [
                mine["p95_ms"] / none["p95_ms"]
                for mine, none in zip(figures[(name, page)], figures[("none", page)], strict=True)
            ]
            median = statistics.median(rps)
            verdict = "met" if median >= TARGET else "MISSED"
            lines.append(
                f"  {page + ' pgaudit ' + name + ' vs none, req/s':<52} min/median/max "
                f"{spread(rps)} (target cost <= 10%: {verdict}); p95 {spread(p95)}"
            )
        for name in names:
            runs = figures[(name, page)]
            lines.append(
                f"  {page + ' log per request, ' + name:<52} "
                f"{statistics.median(r['log_bytes'] for r in runs):7.0f} B, "
                f"{statistics.median(r['audit_lines'] for r in runs):.1f} audit lines; "
                f"req/s median {statistics.median(r['rps'] for r in runs):.1f}"
            )
    return lines
