"""Pages under concurrent load: gunicorn on a loopback port against the scratch database, load
from a second process (benchmarks/loadgen.py). Secure pages vs the baseline settings
(benchmarks/baseline_settings.py), pgaudit as configured vs off, and sign-ins in the background.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECURE_SETTINGS = "clinic.settings"
BASELINE_SETTINGS = "benchmarks.baseline_settings"
# The bare anchor (issue #23): a plain Django view, one ORM query, a 50-row template.
BARE_SETTINGS = "benchmarks.bare_settings"
BARE_PATH = "/bare/visits/"


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def peak_rss_mib(self) -> float:
        """Largest VmHWM (peak resident set) among the workers, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks, default=0.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(settings_module: str, dbname: str, workers: int):
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "CLINIC_DB_NAME": dbname,
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "clinic.wsgi:application",
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "--config", str(ROOT / "gunicorn.conf.py"), "--access-logfile", "/dev/null"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(
    server: Server,
    cookie: str,
    paths: list[str],
    *,
    seconds: float,
    threads: int = 8,
    max_requests: int = 100_000,
    signins_per_second: float = 0,
    username: str = "",
    password: str = "",
) -> dict:
    """Run benchmarks.loadgen in its own process and return its figures."""
    command = [sys.executable, "-m", "benchmarks.loadgen", "--port", str(server.port),
               "--cookie", cookie, "--threads", str(threads), "--seconds", str(seconds),
               "--max-requests", str(max_requests)]  # fmt: skip
    for path in paths:
        command += ["--path", path]
    if signins_per_second:
        command += ["--signins-per-second", str(signins_per_second), "--username", username]
    env = {**os.environ, "BENCH_PASSWORD": password}
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def set_pgaudit_log(dbname: str, value: str | None) -> None:
    """ALTER DATABASE ... SET pgaudit.log (None: back to the cluster's configuration). New
    connections pick it up, so the server is restarted after this."""
    from psycopg import sql

    from localdb import cluster

    with cluster.superuser_connect() as conn:
        if value is None:
            statement = sql.SQL("ALTER DATABASE {} RESET pgaudit.log")
            conn.execute(statement.format(sql.Identifier(dbname)))
        else:
            statement = sql.SQL("ALTER DATABASE {} SET pgaudit.log = {}")
            conn.execute(statement.format(sql.Identifier(dbname), sql.Literal(value)))


def current_pgaudit_log(dbname: str) -> str:
    from localdb import cluster

    with cluster.superuser_connect(dbname) as conn:
        return conn.execute("SHOW pgaudit.log").fetchone()[0]
