"""A long day on the pooler path, scaled down (issue #20): SOAK_REQUESTS requests (default 2,000;
`SOAK_REQUESTS=20000` for the day-long version, docs/benchmarks.md) through PgBouncer in
transaction mode to gunicorn (the production configuration, one worker of four threads), a
clinician's pages in turn. Nothing fails, the database's server connections stay within the
app's concurrency and do not grow, and the worker's memory grows by no more than a stated bound
once it is warm. Patients are fake.
"""

from __future__ import annotations

import datetime
import http.client
import os
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from clinic import roles
from localdb import cluster, pooler
from tests.conftest import TEST_DATABASE, make_staff, sign_in_client
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.server_helpers import (
    free_port,
    private_pooler,
    start_gunicorn,
    stop,
    wait_until_serving,
)

# A pooler of its own (tests/server_helpers.py private_pooler): runs beside the other process.
pytestmark = pytest.mark.usefixtures("clinic_db")
REQUESTS = int(os.environ.get("SOAK_REQUESTS", "2000"))
THREADS = 4  # the worker's threads (GUNICORN_THREADS), and the client's
WARM_UP = max(200, REQUESTS // 10)
# The stated bounds: the worker's resident memory may grow by at most this much after warm-up
# (allocator and cache noise; a leak of 1 KiB per request exceeds it by 20,000 requests), and
# the server connections, and the app's connections to the pooler, never exceed its threads.
RSS_GROWTH_MIB = 16
MOST_SERVER_CONNECTIONS = THREADS


@pytest.fixture(scope="module")
def pooled_app(django_db_setup):
    """The app server behind its pooler, and when they started (the database server's clock)."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        started = conn.execute("SELECT now()").fetchone()[0]
    with private_pooler("soak"):
        port = free_port()
        server = start_gunicorn(port, threads=THREADS, CLINIC_DB_VIA_POOLER="1")
        try:
            wait_until_serving(server, f"http://127.0.0.1:{port}")
            yield server, port, started
        finally:
            stop(server)


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_connections(since: datetime.datetime) -> int:
    """The web role's sessions on the test database opened since `since` (when the module's
    pooler and app server started): the pooler's server connections, and any the app opened
    around the pooler. A session already open before then is not the app's, and is not counted
    (a fresh-clone run found one, left by a test run earlier in the same process)."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = 'clinic_web'"
            " AND backend_start >= %s",
            [TEST_DATABASE, since],
        ).fetchone()
    return int(row[0])


def clinician_pages() -> tuple[str, list[str]]:
    clinician = make_staff("t-soak-clinician", roles.CLINICIAN)
    paths = ["/", "/my-patients/"]
    for number in range(3):
        patient = PatientFactory(first_name=f"Soak{number}", last_name=f"Testperson-soak{number}")
        CareTeamMemberFactory(staff=clinician, patient=patient)
        ClinicalRecordFactory(
            patient=patient, provider=clinician, visit_date=datetime.date(2024, 5, 3 + number)
        )
        paths += [f"/patients/{patient.pk}/", f"/patients/{patient.pk}/visits/"]
    client = sign_in_client(Client(), clinician)
    connections.close_all()  # this process's own connections are not the app's
    return (
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
        paths,
    )


def send(port: int, cookie: str, paths: list[str], count: int, start: int) -> list[int]:
    """`count` GETs from THREADS threads, round-robin over `paths`; their statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    numbers = iter(range(start, start + count))

    def work() -> None:
        mine = []
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                break
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("GET", paths[number % len(paths)], headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                mine.append(response.status)
            finally:
                conn.close()
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_long_day_through_the_pooler_leaks_neither_connections_nor_memory(pooled_app):
    server, port, started = pooled_app
    cookie, paths = clinician_pages()
    assert set(send(port, cookie, paths, WARM_UP, 0)) == {200}
    (worker,) = worker_pids(server.pid)
    warm = {"rss": rss_mib(worker), "connections": server_connections(started)}
    samples = []
    done, step = WARM_UP, max(1, (REQUESTS - WARM_UP) // 4)
    while done < REQUESTS:
        batch = min(step, REQUESTS - done)
        statuses = send(port, cookie, paths, batch, done)
        done += batch
        assert set(statuses) == {200}, f"after {done} requests: {sorted(set(statuses))}"
        pids = worker_pids(server.pid)
        if pids != [worker]:  # recycled (gunicorn's max_requests): measure the new one afresh
            (worker,) = pids
            warm["rss"] = rss_mib(worker)
        samples.append((done, rss_mib(worker), server_connections(started)))
    print(f"\nsoak: warm {warm}; (requests, worker RSS MiB, server connections): {samples}")
    assert all(count <= MOST_SERVER_CONNECTIONS for _done, _rss, count in samples), samples
    # The app's own connections to the pooler: one per thread at most (persistent, reused; in
    # transaction mode an idle client counts as active).
    (pool,) = [
        row
        for row in pooler.show("SHOW POOLS")
        if row["database"] == TEST_DATABASE and row["user"] == "clinic_web"
    ]
    clients = sum(int(pool.get(column) or 0) for column in ("cl_active", "cl_waiting", "cl_idle"))
    assert clients <= THREADS, pool
    assert samples[-1][1] - warm["rss"] <= RSS_GROWTH_MIB, (warm, samples)
