"""Two test processes share one PostgreSQL cluster (`make test` runs pytest-xdist, `-n 2`).

Each process has a test database of its own (tests/conftest.py TEST_DATABASE: `test_clinic_gw0`,
`test_clinic_gw1`), so most tests cannot see each other. A few modules change what the whole
cluster shares: its roles and their memberships (provisioning, the audit owner), the shared
pooler and its restarts, the server log read as a whole, a standby streaming from it.
Those modules are marked `cluster_wide` and run while no other test runs:

- every other test holds the cluster *shared* for its duration;
- a `cluster_wide` module holds it *alone* from its first fixture to its last teardown;
- the two processes set up their test databases one after the other (an advisory lock:
  tests/conftest.py SET_UP_LOCK), since provision_db also makes the cluster's roles.

The lock is a readers-writer pair of `flock` files beside the cluster: a turnstile every taker
passes first, so a waiting `cluster_wide` module is not starved by the other process's stream of
short tests, and the lock itself, taken shared or exclusive. Without xdist (one process, as
`make test-clock` and a developer's single-module run) nothing is taken.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MARKER = "cluster_wide"
# Whether this process holds the cluster alone now: a fixture set up inside a cluster_wide
# module (the test database's set-up, on its first use) must not wait on its own process.
_alone: list[bool] = [False]


def worker() -> str:
    """This process's pytest-xdist worker id ("gw0", "gw1"), or "" outside a parallel run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def in_parallel_run() -> bool:
    return bool(worker())


def _lock_dir() -> Path:
    from localdb import cluster

    return cluster.cluster_dir()


@contextmanager
def holding(*, alone: bool) -> Iterator[None]:
    """The cluster held alone (exclusive) or shared with the other process's tests."""
    if not in_parallel_run() or _alone[0]:
        yield
        return
    directory = _lock_dir()
    with (
        open(directory / "suite-turnstile.lock", "a") as turnstile,
        open(directory / "suite-cluster.lock", "a") as lock,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        _alone[0] = alone
        try:
            yield
        finally:
            _alone[0] = False
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


def is_cluster_wide(node: pytest.Item | pytest.Module) -> bool:
    return node.get_closest_marker(MARKER) is not None


@pytest.fixture(scope="module", autouse=True)
def _cluster_alone_for_the_module(request: pytest.FixtureRequest) -> Iterator[None]:
    if not is_cluster_wide(request.node):
        yield
        return
    with holding(alone=True):
        yield


@pytest.fixture(autouse=True)
def _cluster_shared_for_the_test() -> Iterator[None]:
    # In a cluster_wide module the module's fixture (set up first: a wider scope) already holds
    # it alone, and `holding` takes nothing more.
    with holding(alone=False):
        yield
