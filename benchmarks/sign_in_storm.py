"""Sign-in storm (issue #20, target 1): page p95 with 5 sign-ins/s offered vs without, and
whether every offered sign-in completes, for three ways of hashing, side by side in one run:

- "OWASP minimum, 1 hash/process": the clinic's settings (accounts/hashers.py: Argon2id
  m = 19 MiB, t = 2, p = 1; PASSWORD_HASH_CONCURRENCY = 1);
- "OWASP minimum, unbounded": the same parameters, PASSWORD_HASH_CONCURRENCY = 64;
- "Django default (before)": m = 100 MiB, t = 2, p = 8, no bound (benchmarks.heavy_hash_settings).

The pages without sign-ins are measured first on the clinic's own server. Before each variant the
signing-in user's stored hash is set to that variant's parameters (sealed as the clinic stores
it), so no sign-in pays for an upgrade. Called from benchmarks/run.py (pages under load).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager

VARIANTS = [
    # label, settings module, PASSWORD_HASH_CONCURRENCY, Django's default parameters?
    ("OWASP minimum, 1 hash/process", "clinic.settings", "1", False),
    ("OWASP minimum, unbounded", "clinic.settings", "64", False),
    ("Django default (before)", "benchmarks.heavy_hash_settings", "64", True),
]
SIGNINS_PER_SECOND = 5
TARGET_P95 = 1.5


@contextmanager
def environment(**values: str):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def store_hash(username: str, password: str, *, heavy: bool) -> None:
    """The user's stored password: the clinic's sealed form of an Argon2 hash made with the
    variant's parameters (written as the owner, as a migration would)."""
    from django.contrib.auth.hashers import Argon2PasswordHasher
    from django.db import connections

    from accounts import passwords
    from accounts.hashers import ClinicArgon2PasswordHasher

    hasher = Argon2PasswordHasher() if heavy else ClinicArgon2PasswordHasher()
    value = passwords.wrap(hasher.encode(password, hasher.salt()))
    with connections["owner"].cursor() as cursor:
        cursor.execute("UPDATE auth_user SET password = %s WHERE username = %s", [value, username])


def hash_cost(count: int = 10) -> dict[str, dict[str, float]]:
    """Wall and CPU time (this process, all its threads) of one verification, p50, for the
    clinic's parameters and Django's defaults: the machine's load barely moves the CPU figure."""
    import statistics
    import time

    from django.contrib.auth.hashers import Argon2PasswordHasher

    from accounts.hashers import ClinicArgon2PasswordHasher

    figures = {}
    for label, hasher in (
        ("OWASP minimum", ClinicArgon2PasswordHasher()),
        ("Django default", Argon2PasswordHasher()),
    ):
        encoded = hasher.encode("bench-only-password-1", hasher.salt())
        walls, cpus = [], []
        for _ in range(count):
            wall, cpu = time.perf_counter(), time.process_time()
            hasher.verify("bench-only-password-1", encoded)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        figures[label] = {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}
    return figures


def run(
    pages: dict[str, tuple[list[str], list[str]]],
    cookie: str,
    workers: int,
    seconds: float,
    dbname: str,
    say: Callable[[str], None],
) -> list[str]:
    from benchmarks import dataset, load

    cost = hash_cost()
    say("\n7b. one verification, p50: " + "; ".join(
        f"{label} {f['wall_ms']:.1f} ms wall, {f['cpu_ms']:.1f} ms CPU" for label, f in cost.items()
    ))  # fmt: skip
    say(f"\n7b. sign-in storm: {SIGNINS_PER_SECOND} sign-ins/s offered while pages load")
    quiet: dict[str, dict] = {}
    storm: dict[tuple[str, str], dict] = {}
    for number, (label, settings_module, bound, heavy) in enumerate(VARIANTS):
        store_hash(dataset.FRONT_DESK_USER, dataset.PASSWORD, heavy=heavy)
        with (
            environment(PASSWORD_HASH_CONCURRENCY=bound),
            load.gunicorn(settings_module, dbname, workers) as server,
        ):
            for page, paths in pages.items():
                load.load(server, cookie, paths[0], seconds=min(2.0, seconds))  # warm-up
                if number == 0:
                    quiet[page] = load.load(server, cookie, paths[0], seconds=seconds)
                    say(f"  {'no sign-ins':<32} {page:<10} p95 {quiet[page]['p95_ms']:7.1f} ms"
                        f"  {quiet[page]['rps']:6.1f} req/s")  # fmt: skip
                result = load.load(
                    server, cookie, paths[0], seconds=seconds,
                    signins_per_second=SIGNINS_PER_SECOND,
                    username=dataset.FRONT_DESK_USER, password=dataset.PASSWORD,
                )  # fmt: skip
                storm[(label, page)] = result
                say(f"  {label:<32} {page:<10} p95 {result['p95_ms']:7.1f} ms  "
                    f"{result['rps']:6.1f} req/s  sign-ins offered {result['signins_started']}, "
                    f"ok {result['signins_ok']}, failed {result['signins_failed']}, sign-in "
                    f"p50 {result['signin_p50_ms']:.0f} ms "
                    f"p95 {result['signin_p95_ms']:.0f} ms")  # fmt: skip
    store_hash(dataset.FRONT_DESK_USER, dataset.PASSWORD, heavy=False)

    lines = [
        f"  {'Argon2 verification p50, ' + label + ': wall, CPU ms':<64} {f['wall_ms']:7.1f}, "
        f"{f['cpu_ms']:.1f}"
        for label, f in cost.items()
    ]
    for label, *_rest in VARIANTS:
        for page in pages:
            result, base = storm[(label, page)], quiet[page]
            ratio = result["p95_ms"] / base["p95_ms"]
            every = result["signins_ok"] == result["signins_started"]
            met = ratio <= TARGET_P95 and every
            lines.append(
                f"  {page + ' p95, 5 sign-ins/s vs none: ' + label:<64} {result['p95_ms']:7.1f}"
                f" vs {base['p95_ms']:7.1f} = {ratio:5.2f}x; sign-ins {result['signins_ok']}/"
                f"{result['signins_started']} ok (target <= {TARGET_P95}x, all complete: "
                f"{'met' if met else 'MISSED'})"
            )
    return lines
