"""`make bench` must keep running: its pages are the clinic's own pages with the security layers
on and off, so a new feature that reads a table on a page (a banner, a list under the item) can
break the baseline side, which runs on the owner login. That happened twice (the restriction
banner of 164.522, the amendments of 164.526) and went unseen for a session, because nothing ran
the benchmark. This runs its in-process sections at the tiny scale (about 30 s; no gunicorn load
scenarios, no access log at scale): every page it requests must answer, secure and baseline.
It checks that the benchmark works, never how fast anything is (figures are `make bench`'s)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.server_helpers import ROOT

# cluster_wide: provision_db on a scratch database (the cluster's roles) (tests/cluster_share.py).
pytestmark = pytest.mark.cluster_wide


def test_the_benchmark_runs_its_pages_secure_and_baseline():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    env.pop("CLINIC_DB_NAME", None)  # the benchmark makes and drops its own scratch database
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "tiny", "--skip-load",
         "--log-events", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Internal Server Error" not in output, output[-3000:]
    assert "Summary (secure vs baseline, same run)" in output
    assert "chart summary p95 ms (server time)" in output
