"""What the verified staff identity costs (issue #15, "Speed"): the same pages and policies with
`clinic_staff_id()` / `clinic_staff_role()` verifying the HMAC-signed token, and with them
replaced by a plain read of the same setting (no HMAC, no expiry, no label check).

The replacement is a bench-only switch: it is made in the benchmark's scratch database only, as
the cluster's superuser acting as the functions' owner (clinic_audit_owner), and undone at the
end; no setting of the application knows it. Both sides run in the same process, one after the
other, so their ratio is measured under the same load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from clinic import roles
from clinic.staff_identity import ID_FUNCTION, ROLE_FUNCTION

PLAIN_TEMPLATE = """
CREATE OR REPLACE FUNCTION public.{name}() RETURNS {returns}
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
SELECT {value}
$fn$"""
PLAIN_FUNCTIONS = [
    PLAIN_TEMPLATE.format(
        name="clinic_staff_id",
        returns="integer",
        value="nullif(split_part(current_setting('app.staff_token', true), '.', 1), '')::integer",
    ),
    PLAIN_TEMPLATE.format(
        name="clinic_staff_role",
        returns="text",
        value="nullif(split_part(current_setting('app.staff_token', true), '.', 2), '')",
    ),
]


def _define(dbname: str, statements: list[str]) -> None:
    from localdb import cluster

    if dbname == cluster.DATABASE_NAME:
        raise SystemExit("The plain-identity switch is for the benchmark's scratch database only.")
    with cluster.superuser_connect(dbname) as conn, conn.transaction():
        conn.execute(f"SET LOCAL ROLE {roles.AUDIT_OWNER}")
        for statement in statements:
            conn.execute(statement)


@contextmanager
def plain_identity(dbname: str) -> Iterator[None]:
    """Inside: the identity functions read the setting without verifying it."""
    _define(dbname, PLAIN_FUNCTIONS)
    try:
        yield
    finally:
        _define(dbname, [ID_FUNCTION, ROLE_FUNCTION])


def per_call_us(dbname: str, calls: int = 20_000) -> dict[str, float]:
    """Microseconds per evaluation of clinic_staff_id() under a valid token, verified vs plain
    (EXPLAIN ANALYZE over `calls` rows, the function evaluated per row)."""
    import re

    from django.db import connections, transaction

    from clinic.staff_identity import set_token

    def measure() -> float:
        with transaction.atomic(using="default"):
            set_token("default", 1, "clinic_clinician")
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "EXPLAIN ANALYZE SELECT clinic_staff_id() FROM generate_series(1, %s)",
                    [calls],
                )
                plan = "\n".join(row[0] for row in cursor.fetchall())
                cursor.execute(
                    "EXPLAIN ANALYZE SELECT 1 FROM generate_series(1, %s)",
                    [calls],
                )
                empty = "\n".join(row[0] for row in cursor.fetchall())
        total = float(re.search(r"Execution Time: ([\d.]+)", plan).group(1))  # type: ignore[union-attr]
        base = float(re.search(r"Execution Time: ([\d.]+)", empty).group(1))  # type: ignore[union-attr]
        return (total - base) * 1000 / calls

    verified = min(measure() for _ in range(3))
    with plain_identity(dbname):
        connections["default"].close()
        plain = min(measure() for _ in range(3))
    connections["default"].close()
    return {"verified": verified, "plain": plain}


def section(data, clinician, samples: list[tuple], repeats: int, seconds: float, say, *,
            skip_load: bool) -> list[str]:  # fmt: skip
    """Section 9 of benchmarks/run.py: verified identity vs the plain setting, same run."""
    import os

    from django.test import Client

    from benchmarks import inprocess, load
    from benchmarks.run import SCRATCH_DATABASE as DB
    from benchmarks.run import ratio_line

    say("\n9. verified staff identity vs the plain setting (bench-only switch, same run)")
    calls = per_call_us(DB)
    say(f"  clinic_staff_id() per evaluation: verified {calls['verified']:.2f} us, plain "
        f"{calls['plain']:.2f} us")  # fmt: skip
    lines = [f"  {'clinic_staff_id() us/call (verified, plain)':<52} {calls['verified']:9.2f}, "
             f"{calls['plain']:.2f}"]  # fmt: skip
    # Order verified, plain, verified: the first run also warms the caches; each verified
    # figure is the better of its two runs.
    first = inprocess.row_level_security(data.clinician_id, samples, repeats)
    with plain_identity(DB):
        plain_runs = inprocess.row_level_security(data.clinician_id, samples, repeats)
    second = inprocess.row_level_security(data.clinician_id, samples, repeats)
    for label in first:
        runs = (first[label]["rls"], second[label]["rls"])
        v = min(runs, key=lambda r: r["p50_ms"])
        p = plain_runs[label]["rls"]
        say(f"  policy, {label}: verified p50 {v['p50_ms']:.3f} ms p95 {v['p95_ms']:.3f} ms "
            f"(runs: {runs[0]['p50_ms']:.3f}, {runs[1]['p50_ms']:.3f}); plain p50 "
            f"{p['p50_ms']:.3f} ms p95 {p['p95_ms']:.3f} ms")  # fmt: skip
        met = v["p50_ms"] <= 1.2 * p["p50_ms"]
        lines.append(ratio_line(f"policy p50 ms, {label}, verified vs plain", v["p50_ms"],
                                p["p50_ms"], "<= 1.2x", met))  # fmt: skip
    if skip_load:
        return lines
    workers = 2 * (os.cpu_count() or 1) + 1
    client = Client()
    client.force_login(clinician)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    ids = [str(row[0]) for row in samples]
    pages = {"summary": [f"/patients/{i}/" for i in ids],
             "visit list": [f"/patients/{i}/visits/" for i in ids]}  # fmt: skip
    results: dict[tuple[str, str], list[dict]] = {}

    def scenario(name: str) -> None:
        with load.gunicorn(load.SECURE_SETTINGS, DB, workers) as server:
            for page, paths in pages.items():
                load.load(server, cookie, paths, seconds=min(2.0, seconds))  # warm-up
                result = load.load(server, cookie, paths, seconds=seconds)
                results.setdefault((name, page), []).append(result)
                say(f"  {name:<9} {page:<10} {result['rps']:7.1f} req/s  p50 "
                    f"{result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  errors "
                    f"{result['errors']}")  # fmt: skip

    say(f"  pages under load: gunicorn {workers} workers, {seconds:.0f} s per page; order "
        "verified, plain, verified (the verified figures are the mean of both)")  # fmt: skip
    scenario("verified")
    with plain_identity(DB):
        scenario("plain")
    scenario("verified")
    for page in pages:
        runs = results[("verified", page)]
        rps = sum(r["rps"] for r in runs) / len(runs)
        p95 = sum(r["p95_ms"] for r in runs) / len(runs)
        plain = results[("plain", page)][0]
        lines += [
            ratio_line(f"{page} req/s, verified vs plain", rps, plain["rps"], ">= 0.95x",
                       rps >= 0.95 * plain["rps"]),
            ratio_line(f"{page} p95 ms, verified vs plain", p95, plain["p95_ms"], "<= 1.05x",
                       p95 <= 1.05 * plain["p95_ms"]),
        ]  # fmt: skip
    return lines
