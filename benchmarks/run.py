"""What the security layers cost, measured side by side in one run (issue #8).

    make bench                                   # small scale: 20k patients, 200k visits
    make bench BENCH_ARGS="--scale full"         # 1M patients, 10M visits, their charts
    .venv/bin/python -m benchmarks.run --scale tiny          # a quick check that it all runs
    .venv/bin/python -m benchmarks.run --patients 100000 --records 1000000 --seconds 20
    make bench-scheduling                        # issue 17: 1M patients, ~325k appointments
    make bench BENCH_ARGS="--log-events 10000000"  # section 10, the access log at 10M events

Everything runs against a scratch database on the embedded cluster (created, migrated and
provisioned here, dropped at the end unless --keep); the development database is never
touched. Each figure is printed next to its baseline from the same run; docs/benchmarks.md
explains the baselines and records the results.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

SCRATCH_DATABASE = "bench_security_layers"
# patients, records, in-process repetitions, seconds per load scenario, access-log events
SCALES = {
    "tiny": (300, 3_000, 20, 2, 200),
    "small": (20_000, 200_000, 300, 10, 2_000),
    "full": (1_000_000, 10_000_000, 500, 20, 4_000),
}
# Section 10 (benchmarks/access_log_scale.py): the access log's size N for each scale.
LOG_EVENTS = {"tiny": 20_000, "small": 1_000_000, "full": 10_000_000}


def say(message: str) -> None:
    print(message, flush=True)


def ratio_line(label: str, secure: float, base: float, target: str, met: bool) -> str:
    ratio = secure / base if base else float("inf")
    verdict = "met" if met else "MISSED"
    return (
        f"  {label:<52} {secure:9.2f} vs {base:9.2f}  = {ratio:5.2f}x  (target {target}: {verdict})"
    )


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            memory = f", {int(meminfo.readline().split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; load average at start {load[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--patients", type=int, help="override the scale's patient count")
    parser.add_argument("--records", type=int, help="override the scale's visit count")
    parser.add_argument("--seconds", type=float, help="seconds per load scenario")
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn scenarios")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--scheduling", action="store_true", help="only the scheduling pages (issue 17)"
    )
    parser.add_argument(
        "--log-events", type=int, help="section 10's access-log size (0: skip the section)"
    )
    parser.add_argument(
        "--identity-only", action="store_true", help="only section 9 (the verified identity)"
    )
    args = parser.parse_args()
    patients, records, repeats, seconds, events = SCALES[args.scale]
    patients = args.patients or patients
    records = args.records or records
    seconds = args.seconds or seconds

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.conf import settings

    if settings.PRODUCTION:
        raise SystemExit("Benchmarks generate synthetic data: never run them in production.")
    from benchmarks import scratch

    say(f"Security-layer benchmark, {datetime.datetime.now():%Y-%m-%d %H:%M}; {machine()}")
    say(f"scale: {patients:,} patients, {records:,} visits; scratch database {SCRATCH_DATABASE}")
    started = time.perf_counter()
    scratch.create(SCRATCH_DATABASE)
    try:
        if args.scheduling:
            scheduling_only(args.patients or SCHEDULING_PATIENTS, repeats)
        elif args.identity_only:
            identity_only(patients, records, repeats, seconds, skip_load=args.skip_load)
        else:
            run_all(patients, records, repeats, seconds, events, skip_load=args.skip_load)
    finally:
        if not args.keep:
            scratch.drop(SCRATCH_DATABASE)
    log_events = LOG_EVENTS[args.scale] if args.log_events is None else args.log_events
    if log_events and not (args.identity_only or args.scheduling):
        log_at_scale(log_events, events, keep=args.keep)
    say(f"total {time.perf_counter() - started:.0f} s")


def log_at_scale(log_events: int, appends: int, *, keep: bool) -> None:
    """Section 10 in scratch databases of its own (a log of exactly 10k rows, and one of N)."""
    from benchmarks import access_log_scale

    summary = access_log_scale.run(log_events, appends, 8, keep=keep)
    say("\nSummary, section 10 (the access log at N vs at 10k events, same run)")
    for line in summary:
        say(line)


def run_all(
    patients: int, records: int, repeats: int, seconds: float, events: int, *, skip_load: bool
) -> None:
    from django.contrib.auth.models import User

    from benchmarks import chart_bench, chart_dataset, dataset, identity_cost, inprocess

    summary: list[str] = []
    generation_started = time.perf_counter()
    data = dataset.generate(patients, records, say)
    generation = time.perf_counter() - generation_started
    say(
        f"generation: {generation:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in data.seconds.items())
        + f"); patients {patients / data.seconds['patients']:,.0f}/s encrypted"
    )
    chart_started = time.perf_counter()
    say("chart: problems, allergies, medications, vital signs for every patient")
    chart_rows = chart_dataset.generate(say)
    say(f"chart generation: {time.perf_counter() - chart_started:.1f} s ("
        + ", ".join(f"{table} {rows:,}" for table, rows in chart_rows.items()) + ")")  # fmt: skip
    samples = dataset.sample_patients(data.clinician_id, 50)
    front_desk = User.objects.using("owner").get(pk=data.front_desk_id)
    clinician = User.objects.using("owner").get(pk=data.clinician_id)

    say("\n1. patient search (POST /patients/search/, full pipeline, front desk)")
    search = inprocess.patient_search(front_desk, samples, repeats)
    for side in ("secure", "baseline"):
        say(f"  {side:<9} p50 {search[side]['p50_ms']:.2f} ms  p95 {search[side]['p95_ms']:.2f} ms")
    s, b = search["secure"]["p50_ms"], search["baseline"]["p50_ms"]
    summary.append(
        ratio_line("search p50 ms (blind index vs plaintext)", s, b, "<= 1.5x", s <= 1.5 * b)
    )
    s, b = search["secure"]["p95_ms"], search["baseline"]["p95_ms"]
    summary.append(ratio_line("search p95 ms", s, b, "<= 1.5x", s <= 1.5 * b))

    say("\n3. role switch + context")
    counts = inprocess.statements_per_request(clinician, samples[0][0])
    say(f"  statements in one visit-list request: secure {counts['secure']} (context "
        f"statements: {counts['secure_context']}), baseline {counts['baseline']}")  # fmt: skip
    context = inprocess.context_statement(data.clinician_id, 1000)
    say(f"  CONTEXT_SQL alone p50 {context['statement']['p50_ms']:.3f} ms, p95 "
        f"{context['statement']['p95_ms']:.3f} ms; BEGIN + it + COMMIT p50 "
        f"{context['transaction']['p50_ms']:.3f} ms (1000 transactions)")  # fmt: skip
    summary.append(
        f"  {'context statements per request':<52} {counts['secure_context']} "
        f"(target exactly 1: {'met' if counts['secure_context'] == 1 else 'MISSED'}); "
        f"p50 {context['statement']['p50_ms']:.3f} ms"
    )

    say("\n3b. statements and decryptions per page (one request after a warm-up; issue #23)")
    for label, cost in inprocess.page_costs(front_desk, clinician, samples).items():
        columns = ", ".join(f"{aad.split('.')[-1]}" for aad in sorted(cost["decrypted"]))
        decrypted = sum(cost["decrypted"].values())
        say(f"  {label:<28} {cost['statements']:3d} statements  {decrypted:3d} values "
            f"decrypted ({columns or 'none'})")  # fmt: skip

    say(
        "\n4. row-level security (clinician) vs the owner with the care-team filter written"
        " out, and with the policy's whole rule written out"
    )
    rls = inprocess.row_level_security(data.clinician_id, samples, repeats)
    for label, figures in rls.items():
        say(f"  {label}: RLS p50 {figures['rls']['p50_ms']:.3f} ms p95 "
            f"{figures['rls']['p95_ms']:.3f} ms; explicit p50 {figures['explicit']['p50_ms']:.3f}"
            f" ms p95 {figures['explicit']['p95_ms']:.3f} ms; the same rule written out p50 "
            f"{figures['same_rule']['p50_ms']:.3f} ms p95 {figures['same_rule']['p95_ms']:.3f} ms;"
            f" InitPlans {figures['initplans']}, SubPlans {figures['subplans']}")  # fmt: skip
        for line in figures["plan"]:
            say(f"      {line}")
        s, b = figures["rls"]["p50_ms"], figures["explicit"]["p50_ms"]
        summary.append(ratio_line(f"RLS p50 ms, {label}", s, b, "<= 1.2x", s <= 1.2 * b))
        r = figures["same_rule"]["p50_ms"]
        summary.append(
            ratio_line(f"RLS p50 ms vs same rule, {label}", s, r, "<= 1.2x", s <= 1.2 * r)
        )

    say("\n7a. one Argon2 password verification")
    verify = inprocess.password_verification(max(3, min(20, repeats // 10)))
    say(f"  p50 {verify['p50_ms']:.1f} ms  p95 {verify['p95_ms']:.1f} ms")
    summary.append(f"  {'Argon2 verify p50 ms':<52} {verify['p50_ms']:9.1f}")

    say("\n6. access-log append")
    summary += access_log(events)

    if not skip_load:
        summary += pages_under_load(data, clinician, samples, seconds)

    say("\n9. chart summary (GET /chart/patients/<id>/, clinician; issue 18)")
    summary += chart_bench.run(clinician, samples, repeats, seconds, SCRATCH_DATABASE, say=say,
                               skip_load=skip_load)  # fmt: skip
    summary += identity_cost.section(
        data, clinician, samples, repeats, seconds, say, skip_load=skip_load
    )

    say("\nSummary (secure vs baseline, same run)")
    for line in summary:
        say(line)


def identity_only(
    patients: int, records: int, repeats: int, seconds: float, *, skip_load: bool
) -> None:
    """Section 9 alone (issue #15's speed targets), on freshly generated data."""
    from django.contrib.auth.models import User

    from benchmarks import dataset, identity_cost

    data = dataset.generate(patients, records, say)
    samples = dataset.sample_patients(data.clinician_id, 50)
    clinician = User.objects.using("owner").get(pk=data.clinician_id)
    summary = identity_cost.section(
        data, clinician, samples, repeats, seconds, say, skip_load=skip_load
    )
    say("\nSummary (verified identity vs plain setting, same run)")
    for line in summary:
        say(line)


SCHEDULING_PATIENTS = 1_000_000
SCHEDULING_DISTINCT = 50_000  # encrypted one by one; the rest are clones (scheduling_dataset)


def scheduling_only(patients: int, repeats: int) -> None:
    from benchmarks import scheduling_bench

    summary = scheduling_bench.section(patients, SCHEDULING_DISTINCT, repeats, say)
    say("\nSummary (secure vs baseline, same run; p95 server time)")
    for line in summary:
        say(line)


def access_log(events: int) -> list[str]:
    from benchmarks import access_log_append
    from clinic.access_log.chain import verify_chain

    access_log_append.run(1, 50)
    one = access_log_append.report("1 writer", *access_log_append.run(1, events // 2))
    eight = access_log_append.report("8 concurrent writers", *access_log_append.run(8, events // 8))
    chain = verify_chain()
    say(f"  chain {'intact' if chain.ok else 'BROKEN'}: {chain.rows_checked} rows verified")
    return [
        f"  {'access log, 8 writers: events/s, p95 ms':<52} {eight['per_second']:9.0f}, "
        f"{eight['p95_ms']:.2f} (1 writer {one['per_second']:.0f}/s); chain "
        f"{'intact' if chain.ok else 'BROKEN'}"
    ]


def pages_under_load(data, clinician, samples: list[tuple], seconds: float) -> list[str]:
    from django.test import Client

    from benchmarks import dataset, load
    from benchmarks.run import SCRATCH_DATABASE as DB

    workers = 2 * (os.cpu_count() or 1) + 1
    client = Client()
    client.force_login(clinician)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    ids = [str(row[0]) for row in samples]
    pages = {
        "summary": ([f"/patients/{i}/" for i in ids], [f"/baseline/patients/{i}/" for i in ids]),
        "visit list": (
            [f"/patients/{i}/visits/" for i in ids],
            [f"/baseline/patients/{i}/visits/" for i in ids],
        ),
    }
    audit = load.current_pgaudit_log(DB)
    say(f"\n2. pages under load: gunicorn {workers} workers, 8 client threads, {seconds:.0f} s "
        f"per page and scenario; pgaudit.log = '{audit}'")  # fmt: skip
    results: dict[tuple[str, str], dict] = {}
    rss: dict[str, float] = {}

    def scenario(name: str, settings_module: str, side: int, **extra) -> None:
        with load.gunicorn(settings_module, DB, workers) as server:
            for page, paths in pages.items():
                load.load(server, cookie, paths[side], seconds=min(2.0, seconds))  # warm-up
                result = load.load(server, cookie, paths[side], seconds=seconds, **extra)
                results[(name, page)] = result
                say(f"  {name:<28} {page:<10} {result['rps']:7.1f} req/s  p50 "
                    f"{result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  errors "
                    f"{result['errors']}" + (f"  sign-ins offered "
                    f"{result['signins_offered_per_second']:.1f}/s, completed "
                    f"{result['signins_per_second']:.1f}/s ({result['signins_ok']} ok, "
                    f"{result['signins_failed']} failed), sign-in p50 "
                    f"{result['signin_p50_ms']:.0f} ms p95 {result['signin_p95_ms']:.0f} ms"
                    if extra else ""))  # fmt: skip
            rss[name] = server.peak_rss_mib()

    # The bare anchor first (issue #23): every page's throughput is also read as a ratio to it.
    with load.gunicorn(load.BARE_SETTINGS, DB, workers) as server:
        load.load(server, cookie, [load.BARE_PATH], seconds=min(2.0, seconds))  # warm-up
        anchor = load.load(server, cookie, [load.BARE_PATH], seconds=seconds)
    say(f"  {'bare anchor (plain Django view)':<39} {anchor['rps']:7.1f} req/s  p50 "
        f"{anchor['p50_ms']:7.1f} ms  p95 {anchor['p95_ms']:7.1f} ms  errors "
        f"{anchor['errors']}")  # fmt: skip
    scenario("secure", load.SECURE_SETTINGS, 0)
    scenario("baseline", load.BASELINE_SETTINGS, 1)
    load.set_pgaudit_log(DB, "none")
    try:
        scenario("secure, pgaudit.log none", load.SECURE_SETTINGS, 0)
    finally:
        load.set_pgaudit_log(DB, None)
    scenario("secure + 5 sign-ins/s", load.SECURE_SETTINGS, 0, signins_per_second=5,
             username=dataset.FRONT_DESK_USER, password=dataset.PASSWORD)  # fmt: skip
    profile_pages(data, cookie, pages, seconds, workers)
    say(
        f"\n8. peak RSS of a worker (VmHWM): secure {rss['secure']:.0f} MiB, "
        f"baseline {rss['baseline']:.0f} MiB"
    )

    lines = []
    for page in pages:
        secure, base = results[("secure", page)], results[("baseline", page)]
        quiet = results[("secure, pgaudit.log none", page)]
        signing = results[("secure + 5 sign-ins/s", page)]
        lines += [
            ratio_line(f"{page} req/s", secure["rps"], base["rps"], ">= 0.7x",
                       secure["rps"] >= 0.7 * base["rps"]),
            ratio_line(f"{page} p95 ms", secure["p95_ms"], base["p95_ms"], "<= 1.5x",
                       secure["p95_ms"] <= 1.5 * base["p95_ms"]),
            f"  {page + ' req/s, pgaudit as configured vs none':<52} {secure['rps']:9.1f} vs "
            f"{quiet['rps']:9.1f}  = {secure['rps'] / quiet['rps']:5.2f}x",
            f"  {page + ' p95 ms with 5 sign-ins/s vs without':<52} {signing['p95_ms']:9.1f} vs "
            f"{secure['p95_ms']:9.1f}  = {signing['p95_ms'] / secure['p95_ms']:5.2f}x",
        ]  # fmt: skip
    lines.append(f"  {'peak worker RSS MiB (secure, baseline)':<52} {rss['secure']:9.0f}, "
                 f"{rss['baseline']:.0f}")  # fmt: skip
    lines += anchor_lines(anchor, results, list(pages))
    # Issue #20: the sign-in storm before/after, and pgaudit's cost over several rounds.
    from benchmarks import pgaudit_cost, sign_in_storm

    lines += sign_in_storm.run(pages, cookie, workers, seconds, DB, say)
    rounds = 3 if seconds >= 5 else 1
    lines += pgaudit_cost.run(pages, cookie, workers, max(2.0, seconds / 2), DB, rounds, say)
    return lines


def profile_pages(data, cookie: str, pages: dict, seconds: float, workers: int) -> None:
    """Issue #23: py-spy on the secure server's workers, one page at a time (benchmarks/profile.py);
    a scenario of its own, so sampling never touches the throughput figures above."""
    from django.contrib.auth.models import User
    from django.test import Client

    from benchmarks import load, profile
    from benchmarks.run import SCRATCH_DATABASE as DB

    missing = profile.available()
    skipped = f": skipped, {missing}" if missing else ""
    say(f"\n9. profile under load (py-spy, {profile.PROFILE_RATE} samples/s per thread, "
        f"non-blocking; workers' CPU ms per request){skipped}")  # fmt: skip
    if missing:
        return
    front_desk = Client()
    front_desk.force_login(User.objects.using("owner").get(pk=data.front_desk_id))
    front_desk_cookie = f"sessionid={front_desk.cookies['sessionid'].value}"
    profiled = {page: (cookie, paths[0]) for page, paths in pages.items()}
    profiled["clinician home (my day)"] = (cookie, ["/"])
    profiled["front desk home (today)"] = (front_desk_cookie, ["/"])
    with load.gunicorn(load.SECURE_SETTINGS, DB, workers) as server:
        for page, (page_cookie, paths) in profiled.items():
            load.load(server, page_cookie, paths, seconds=min(2.0, seconds))  # warm-up
            with profile.record(server.process.pid) as stacks:
                result = load.load(server, page_cookie, paths, seconds=seconds)
            say(f"  {page}: {result['rps']:.1f} req/s while sampled, {result['requests']} "
                f"requests, errors {result['errors']}")  # fmt: skip
            for line in profile.report(profile.breakdown(stacks), result["requests"]):
                say(line)


def anchor_lines(anchor: dict, results: dict, pages: list[str]) -> list[str]:
    """Issue #23: each page's throughput as a ratio to the bare anchor of the same run, and the
    targets (baseline >= 0.5x the anchor, secure >= 0.8x its baseline, p95 < 100 ms)."""
    lines = [f"  {'bare anchor req/s, p95 ms':<52} {anchor['rps']:9.1f}, {anchor['p95_ms']:.1f}"]
    for page in pages:
        secure, base = results[("secure", page)], results[("baseline", page)]
        lines += [
            ratio_line(f"{page} baseline req/s vs bare anchor", base["rps"], anchor["rps"],
                       ">= 0.5x", base["rps"] >= 0.5 * anchor["rps"]),
            ratio_line(f"{page} secure req/s vs bare anchor", secure["rps"], anchor["rps"],
                       "report", True),
            ratio_line(f"{page} secure req/s vs baseline (#23)", secure["rps"], base["rps"],
                       ">= 0.8x", secure["rps"] >= 0.8 * base["rps"]),
            f"  {page + ' secure p95 ms (8 clients; target < 100)':<52} {secure['p95_ms']:9.1f}"
            f"  ({'met' if secure['p95_ms'] < 100 else 'MISSED'})",
        ]  # fmt: skip
    return lines


if __name__ == "__main__":
    main()
