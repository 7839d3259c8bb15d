"""Analytics at scale: generation, refresh, dashboard latency vs the same aggregate on the base
table, in one run, against the development database (never production).

    .venv/bin/python -m benchmarks.analytics_bench                      # 200,000 visits
    .venv/bin/python -m benchmarks.analytics_bench --records 10000000   # the full run
    .venv/bin/python -m benchmarks.analytics_bench --skip-generate      # reuse existing data
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


BASE_AGGREGATE = """
SELECT date_trunc('month', r.visit_date)::date, coalesce(c.chapter, ''), r.provider_id, count(*)
FROM clinical_records r
LEFT JOIN analytics_icd10_chapters c ON c.code = replace(upper(r.diagnosis_code), '.', '')
WHERE r.visit_date >= %s AND r.visit_date < %s
GROUP BY GROUPING SETS ((1), (2), (3))
"""
BASE_TOP_CODES = """
SELECT replace(upper(diagnosis_code), '.', ''), count(*) FROM clinical_records
WHERE visit_date >= %s AND visit_date < %s GROUP BY 1 HAVING count(*) > 10
ORDER BY 2 DESC LIMIT 10
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--base-runs", type=int, default=3)
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import connections
    from django.test import Client

    from analytics.forms import default_range
    from analytics.generate import generate
    from analytics.refresh import refresh_all
    from clinic import roles

    if settings.PRODUCTION:
        raise SystemExit("Benchmarks generate synthetic data: never run them in production.")

    generation = 0.0
    if not args.skip_generate:
        print(f"generating {args.records:,} visits ...", flush=True)
        generation = generate(args.records, progress=lambda m: print(m, flush=True))
    print("refreshing rollups ...", flush=True)
    refresh = refresh_all(progress=lambda m: print(m, flush=True))

    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM clinical_records")
        total_records = cursor.fetchone()[0]
        cursor.execute("SET ROLE clinic_analytics_owner")
        cursor.execute("SELECT count(*) FROM analytics_visits_rollup")
        rollup_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM analytics_codes_rollup")
        code_rows = cursor.fetchone()[0]
        cursor.execute("RESET ROLE")

    analyst, _ = User.objects.db_manager("owner").get_or_create(
        username="bench-analyst", defaults={"password": make_password(None)}
    )
    analyst.groups.set([Group.objects.using("owner").get_or_create(name=roles.ANALYST)[0]])
    client = Client()
    client.force_login(analyst)
    assert client.get("/analytics/").status_code == 200  # warm-up
    samples = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/analytics/")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    filtered = []
    provider = analyst.pk
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT provider_id FROM clinical_records LIMIT 1")
        row = cursor.fetchone()
        provider = row[0] if row else provider
    for _ in range(args.requests):
        started = time.perf_counter()
        client.get(f"/analytics/?chapter=4&provider={provider}")
        filtered.append((time.perf_counter() - started) * 1000)

    start, end = default_range()
    end_exclusive = (end.replace(day=28) + __import__("datetime").timedelta(days=4)).replace(day=1)
    base = []
    with connections["owner"].cursor() as cursor:
        for _ in range(args.base_runs):
            started = time.perf_counter()
            cursor.execute(BASE_AGGREGATE, [start, end_exclusive])
            cursor.fetchall()
            cursor.execute(BASE_TOP_CODES, [start, end_exclusive])
            cursor.fetchall()
            base.append((time.perf_counter() - started) * 1000)

    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    base_median = statistics.median(base)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}")
    print(f"clinical_records rows:            {total_records:>14,}")
    print(f"rollup rows (visits / codes):     {rollup_rows:>14,} / {code_rows:,}")
    print(f"generation:                       {generation:>12.1f} s")
    print(f"refresh (CONCURRENTLY, all):      {refresh:>12.1f} s")
    print(f"dashboard p50 / p95 ({args.requests} req):    {p50:>8.1f} / {p95:.1f} ms")
    print(
        f"filtered dashboard p50 / p95:     {statistics.median(filtered):>8.1f} / "
        f"{percentile(filtered, 0.95):.1f} ms"
    )
    print(f"same aggregate on base table:     {base_median:>12.1f} ms (median of {len(base)})")
    print(f"speed-up (base / dashboard p50):  {base_median / p50:>12.0f}x")
    print(f"speed-up (base / dashboard p95):  {base_median / p95:>12.0f}x")


if __name__ == "__main__":
    main()
