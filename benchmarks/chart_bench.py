"""The chart summary, secure vs baseline in one run (issue 18: p95 <= 100 ms server time and
>= 0.7x the throughput of the same page without the security layers).

- Server time: the page through the whole Django request pipeline in this process (the test
  client, no network), the bench clinician on their own patients; the baseline is
  benchmarks/baseline_chart.py under the baseline settings (inprocess.baseline_overrides).
- Throughput: gunicorn (2 x cores + 1 workers) under 8 client threads for the same patients,
  secure settings vs benchmarks.baseline_settings, as the other pages (benchmarks/load.py).
Every response is checked (200, the summary's sections present) before anything is timed.
"""

from __future__ import annotations

import os
from collections.abc import Callable

SECURE_URL = "/chart/patients/{}/"
BASELINE_URL = "/baseline/chart/patients/{}/"
P95_TARGET_MS = 100.0
THROUGHPUT_TARGET = 0.7


def _check(response) -> None:
    body = response.content
    assert response.status_code == 200, response.status_code
    assert b"Active problems" in body and b"Latest vital signs" in body, "not the summary"


def server_time(clinician, samples: list[tuple], count: int) -> dict[str, dict]:
    from benchmarks.inprocess import baseline_overrides, signed_in_client, timed

    ids = [row[0] for row in samples]

    def getter(client, template: str) -> Callable[[int], None]:
        def get(number: int) -> None:
            _check(client.get(template.format(ids[number % len(ids)])))

        return get

    result = {"secure": timed(getter(signed_in_client(clinician), SECURE_URL), count)}
    with baseline_overrides():
        client = signed_in_client(clinician)
        result["baseline"] = timed(getter(client, BASELINE_URL), count)
    return result


def throughput(clinician, samples: list[tuple], seconds: float, dbname: str) -> dict[str, dict]:
    from django.test import Client

    from benchmarks import load

    workers = 2 * (os.cpu_count() or 1) + 1
    client = Client()
    client.force_login(clinician)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    ids = [str(row[0]) for row in samples]
    results = {}
    for side, settings_module, template in (
        ("secure", load.SECURE_SETTINGS, SECURE_URL),
        ("baseline", load.BASELINE_SETTINGS, BASELINE_URL),
    ):
        paths = [template.format(i) for i in ids]
        with load.gunicorn(settings_module, dbname, workers) as server:
            load.load(server, cookie, paths, seconds=min(2.0, seconds))  # warm-up
            results[side] = load.load(server, cookie, paths, seconds=seconds)
    results["workers"] = {"count": workers}
    return results


def _no_target(label: str, secure: float, base: float) -> str:
    return f"  {label:<52} {secure:9.2f} vs {base:9.2f}  = {secure / base if base else 0:5.2f}x"


def run(
    clinician, samples: list[tuple], repeats: int, seconds: float, dbname: str, *, say, skip_load
) -> list[str]:
    """Prints the figures; returns the summary lines (run.py's ratio_line format)."""
    from benchmarks.run import ratio_line

    times = server_time(clinician, samples, repeats)
    for side in ("secure", "baseline"):
        say(f"  server time {side:<9} p50 {times[side]['p50_ms']:.2f} ms  "
            f"p95 {times[side]['p95_ms']:.2f} ms  (n {times[side]['n']})")  # fmt: skip
    secure, base = times["secure"]["p95_ms"], times["baseline"]["p95_ms"]
    lines = [
        ratio_line("chart summary p95 ms (server time)", secure, base,
                   f"<= {P95_TARGET_MS:.0f} ms", secure <= P95_TARGET_MS),
        _no_target("chart summary p50 ms (server time)", times["secure"]["p50_ms"],
                   times["baseline"]["p50_ms"]),
    ]  # fmt: skip
    if skip_load:
        return lines
    loaded = throughput(clinician, samples, seconds, dbname)
    for side in ("secure", "baseline"):
        result = loaded[side]
        say(f"  under load {side:<9} {result['rps']:7.1f} req/s  p50 {result['p50_ms']:7.1f} ms"
            f"  p95 {result['p95_ms']:7.1f} ms  errors {result['errors']} "
            f"(gunicorn {loaded['workers']['count']} workers, 8 client threads)")  # fmt: skip
    s, b = loaded["secure"]["rps"], loaded["baseline"]["rps"]
    lines.append(
        ratio_line("chart summary req/s under load", s, b, ">= 0.7x", s >= THROUGHPUT_TARGET * b)
    )
    s, b = loaded["secure"]["p95_ms"], loaded["baseline"]["p95_ms"]
    lines.append(_no_target("chart summary p95 ms under load", s, b))
    return lines
