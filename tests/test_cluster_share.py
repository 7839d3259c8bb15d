"""The parallel run's lock (tests/cluster_share.py): a `cluster_wide` module holds the cluster
alone, other tests share it. Checked from a second process, as the other test process would
try it, on lock files of the test's own (the run's real ones are in use)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import cluster_share

# A second process tries each lock without waiting and says whether it got it.
TRY = """
import fcntl, sys
path, mode = sys.argv[1], sys.argv[2]
with open(path, "a") as f:
    try:
        fcntl.flock(f, (fcntl.LOCK_EX if mode == "alone" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        print("waits")
    else:
        print("gets")
"""


def other_process(path, mode: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", TRY, str(path), mode],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.fixture
def own_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw9")
    monkeypatch.setattr(cluster_share, "_lock_dir", lambda: tmp_path)
    return tmp_path / "suite-cluster.lock", tmp_path / "suite-turnstile.lock"


def test_a_cluster_wide_module_keeps_every_other_test_waiting(own_locks):
    lock, turnstile = own_locks
    with cluster_share.holding(alone=True):
        assert other_process(lock, "shared") == "waits"
        assert other_process(turnstile, "alone") == "waits"  # newcomers wait at the turnstile
    assert other_process(lock, "alone") == "gets"
    assert other_process(turnstile, "alone") == "gets"


def test_ordinary_tests_share_the_cluster_and_keep_a_cluster_wide_one_waiting(own_locks):
    lock, turnstile = own_locks
    with cluster_share.holding(alone=False):
        assert other_process(lock, "shared") == "gets"
        assert other_process(lock, "alone") == "waits"
        assert other_process(turnstile, "alone") == "gets"  # passed through, not held
    assert other_process(lock, "alone") == "gets"


def test_one_process_takes_nothing(tmp_path, monkeypatch):
    """Outside a parallel run (make test-clock, a single module) no lock file is even made."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setattr(cluster_share, "_lock_dir", lambda: tmp_path)
    with cluster_share.holding(alone=True):
        assert list(tmp_path.iterdir()) == []


def test_the_modules_that_change_the_whole_cluster_are_marked(request):
    """Those that make roles (provision_db), read the server log as a whole or use the shared
    pooler: dropping a mark lets them run beside the other process's tests."""
    marked = {
        item.module.__name__.removeprefix("tests.")
        for item in request.session.items
        if cluster_share.is_cluster_wide(item)
    }
    collected = {item.module.__name__.removeprefix("tests.") for item in request.session.items}
    expected = {
        "test_provisioning", "test_moved_models", "test_benchmark_smoke", "test_audit_owner",
        "test_db_hardening", "test_pooler", "test_pgaudit", "test_replica", "test_backup_restore",
    }  # fmt: skip
    assert expected & collected <= marked
