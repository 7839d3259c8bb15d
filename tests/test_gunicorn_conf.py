"""The production gunicorn configuration: workers from the cores, overridable, app preloaded.
(tests/test_pooler_stress.py runs two app servers with it.)"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "gunicorn.conf.py")


def load(monkeypatch, **env: str) -> dict:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(CONFIG)


def test_workers_default_to_twice_the_cores_plus_one(monkeypatch):
    config = load(monkeypatch)
    assert config["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert config["threads"] == 4 and config["worker_class"] == "gthread"
    assert config["preload_app"] is True
    assert config["bind"] == "0.0.0.0:8000"


def test_environment_sizes_the_server(monkeypatch):
    config = load(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_BIND="[::]:9000")
    assert (config["workers"], config["threads"], config["bind"]) == (3, 8, "[::]:9000")


def test_access_log_leaves_out_query_strings(monkeypatch):
    config = load(monkeypatch)
    log_format = config["access_log_format"]
    assert "%({clinic.route}e)s" in log_format
    for path_atom in ("%(r)s", "%(U)s", "%(q)s", "%({raw_uri}e)s", "%({path_info}e)s"):
        assert path_atom not in log_format


def test_gunicorn_accepts_the_configuration():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", CONFIG, "--check-config", "clinic.wsgi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
