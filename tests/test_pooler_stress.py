"""Two app servers, many threads, one PgBouncer in transaction mode: no request ever sees another
user's patients, nothing fails, and the pool really hands one server session to many requests.

Each clinician has patients with names no one else's patient has; every response a clinician
gets is searched for the names of the other clinicians' patients. The front desk and the analyst
are interleaved with them. Now and then a clinician asks for another clinician's patient
(refused: 403, and the refusal is written in a second transaction), records a visit of their
own patient (saved, under row-level security's WITH CHECK) or tries to record one for another
clinician's patient (refused, nothing saved). Every request's first
statement (clinic/db_context.py) checks that the transaction arrived with the bare web role and
no staff id; a leak would raise LeakedContextError, a 500, and fail the test.

One app server closes its database connection after each request (CONN_MAX_AGE=0: a new client
connection to PgBouncer per request), the other keeps it (CONN_MAX_AGE=60). A sampler watches
pg_stat_activity: the few server sessions it sees each serve many staff members in turn.

STRESS_REQUESTS (default 2,000) sets the length: `make stress` runs 20,000.
"""

from __future__ import annotations

import datetime
import http.client
import os
import random
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils.crypto import get_random_string

from clinic import roles
from clinic.access_log.chain import verify_chain
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
ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("STRESS_REQUESTS", "2000"))
CLIENT_THREADS = 16
CLINICIANS = "ABCD"
PATIENTS_PER_CLINICIAN = "xyz"
# Diagnosis codes the front desk must never be shown (column grants hide them).
CLINICIAN_CODE = "J06.9"
# A CSRF cookie of our choosing, echoed in the form (plain HTTP: no Referer check).
CSRF_SECRET = get_random_string(32)
NEW_VISIT_FORM = urllib.parse.urlencode(
    {
        "csrfmiddlewaretoken": CSRF_SECRET,
        "visit_date": "2024-06-01",
        "diagnosis_code": CLINICIAN_CODE,
        "notes": "Fake stress note",
    }
)


@pytest.fixture(scope="module")
def pooled_app_servers(django_db_setup):
    with private_pooler("stress"):
        servers = []
        for conn_max_age in (0, 60):
            port = free_port()
            # The production configuration (gunicorn.conf.py), one worker of six threads.
            process = start_gunicorn(
                port, threads=6, CLINIC_DB_VIA_POOLER="1", DB_CONN_MAX_AGE=str(conn_max_age)
            )
            servers.append((process, port))
        try:
            for process, port in servers:
                wait_until_serving(process, f"http://127.0.0.1:{port}")
            yield [port for _process, port in servers]
        finally:
            for process, _port in servers:
                stop(process)


@dataclass
class Persona:
    role: str
    session_key: str
    staff_id: int
    paths: list[str]
    forbidden_text: list[str]
    refused_paths: list[str] = field(default_factory=list)
    # Clinicians also record visits: on their own patients (saved) and on others' (refused).
    write_paths: list[str] = field(default_factory=list)
    refused_write_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Planned:
    persona: Persona
    method: str
    path: str
    expected_status: int


def signed_in_session(user) -> str:
    client = sign_in_client(Client(), user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def build_world() -> list[Persona]:
    """Four clinicians with three patients each (two visits apiece), front desk, analyst."""
    clinicians = {
        letter: make_staff(f"t-stress-clinician-{letter}", roles.CLINICIAN) for letter in CLINICIANS
    }
    names: dict[str, list[str]] = defaultdict(list)
    patient_ids: dict[str, list[str]] = defaultdict(list)
    record_ids: dict[str, list[str]] = defaultdict(list)
    for letter, clinician in clinicians.items():
        for suffix in PATIENTS_PER_CLINICIAN:
            last_name = f"Testperson-{letter}{suffix}"
            patient = PatientFactory(first_name=f"Stress{letter}{suffix}", last_name=last_name)
            CareTeamMemberFactory(staff=clinician, patient=patient)
            for day in (3, 17):
                visit = ClinicalRecordFactory(
                    patient=patient,
                    provider=clinician,
                    diagnosis_code=CLINICIAN_CODE,
                    visit_date=datetime.date(2024, 5, day),
                )
                record_ids[letter].append(str(visit.pk))
            names[letter].append(last_name)
            patient_ids[letter].append(str(patient.pk))
    personas = []
    for letter, clinician in clinicians.items():
        others = [other for other in CLINICIANS if other != letter]
        personas.append(
            Persona(
                role="clinician",
                session_key=signed_in_session(clinician),
                staff_id=clinician.pk,
                paths=["/my-patients/"]
                + [f"/patients/{pid}/visits/" for pid in patient_ids[letter]]
                + [f"/visits/{rid}/" for rid in record_ids[letter]],
                forbidden_text=[name for other in others for name in names[other]],
                refused_paths=[f"/patients/{patient_ids[other][0]}/visits/" for other in others],
                write_paths=[f"/patients/{pid}/visits/new/" for pid in patient_ids[letter]],
                refused_write_paths=[
                    f"/patients/{patient_ids[other][1]}/visits/new/" for other in others
                ],
            )
        )
    everyone = [pid for letter in CLINICIANS for pid in patient_ids[letter]]
    frontdesk = make_staff("t-stress-frontdesk", roles.FRONT_DESK)
    personas.append(
        Persona(
            role="frontdesk",
            session_key=signed_in_session(frontdesk),
            staff_id=frontdesk.pk,
            paths=[f"/patients/{pid}/visits/" for pid in everyone]
            + [f"/patients/{pid}/" for pid in everyone],
            forbidden_text=[CLINICIAN_CODE],
        )
    )
    analyst = make_staff("t-stress-analyst", roles.ANALYST)
    personas.append(
        Persona(
            role="analyst",
            session_key=signed_in_session(analyst),
            staff_id=analyst.pk,
            paths=["/analytics/", "/"],
            forbidden_text=["Testperson", "Stress"],
        )
    )
    return personas


@dataclass
class Outcome:
    statuses: Counter = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(personas: list[Persona], total: int, seed: int = 10) -> list[Planned]:
    """Interleaved requests. Of a clinician's requests, 8 in 100 ask for another clinician's
    patient, 5 record a visit of their own patient and 2 try to record one for someone else's."""
    chooser = random.Random(seed)
    weights = [3 if p.role == "clinician" else 1 for p in personas]
    requests = []
    for persona in chooser.choices(personas, weights=weights, k=total):
        draw = chooser.random()
        if persona.role != "clinician" or draw >= 0.15:
            requests.append(Planned(persona, "GET", chooser.choice(persona.paths), 200))
        elif draw < 0.08:
            requests.append(Planned(persona, "GET", chooser.choice(persona.refused_paths), 403))
        elif draw < 0.13:
            requests.append(Planned(persona, "POST", chooser.choice(persona.write_paths), 302))
        else:
            path = chooser.choice(persona.refused_write_paths)
            requests.append(Planned(persona, "POST", path, 403))
    return requests


class Sampler(threading.Thread):
    """Which server sessions (backend pids) ran a request for which staff ids."""

    def __init__(self):
        super().__init__(daemon=True)
        self.staff_by_pid: dict[int, set[str]] = defaultdict(set)
        self.samples = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with cluster.superuser_connect(TEST_DATABASE) as conn:
            while not self.stopping.is_set():
                for pid, app in conn.execute(
                    "SELECT pid, application_name FROM pg_stat_activity "
                    "WHERE datname = %s AND usename = 'clinic_web'",
                    [TEST_DATABASE],
                ).fetchall():
                    if app.startswith("staff:"):
                        self.staff_by_pid[pid].add(app)
                self.samples += 1
                time.sleep(0.02)


def pooler_counts() -> tuple[int, int]:
    """(transactions PgBouncer has run for the test database, its server connections now)."""
    stats = [row for row in pooler.show("SHOW STATS") if row["database"] == TEST_DATABASE]
    servers = [row for row in pooler.show("SHOW SERVERS") if row["database"] == TEST_DATABASE]
    return (int(stats[0]["total_xact_count"]) if stats else 0), len(servers)


def visit_counts() -> tuple[int, int]:
    """(visits stored, visits whose provider is on their patient's care team)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM care_team ct "
            "WHERE ct.patient_id = r.patient_id AND ct.staff_id = r.provider_id)) "
            "FROM clinical_records r"
        )
        return cursor.fetchone()


def run_load(ports: list[int], requests: list[Planned]) -> Outcome:
    outcome = Outcome()
    local = threading.local()

    def connection_to(port: int) -> http.client.HTTPConnection:
        pool = local.__dict__.setdefault("connections", {})
        if port not in pool:
            pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return pool[port]

    def one(index: int) -> None:
        planned = requests[index]
        persona, path = planned.persona, planned.path
        port = ports[index % len(ports)]
        headers = {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={persona.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"
        }
        body = None
        if planned.method == "POST":
            body = NEW_VISIT_FORM
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            connection = connection_to(port)
            try:
                connection.request(planned.method, path, body=body, headers=headers)
                response = connection.getresponse()
                body = response.read().decode()
                break
            except (http.client.HTTPException, OSError):
                # A kept-alive socket the server closed meanwhile: reconnect once.
                connection.close()
                local.connections.pop(port)
                if attempt:
                    raise
        leaked = [text for text in persona.forbidden_text if text in body]
        expected = planned.expected_status
        with outcome.lock:
            outcome.statuses[response.status] += 1
            if leaked:
                outcome.leaks.append(f"{persona.role} {persona.staff_id} {path}")
            if response.status != expected:
                outcome.unexpected.append(f"{persona.role} {path} -> {response.status}")

    with ThreadPoolExecutor(CLIENT_THREADS) as executor:
        list(executor.map(one, range(len(requests))))
    return outcome


def test_interleaved_users_through_the_pooler_see_only_their_own_patients(pooled_app_servers):
    personas = build_world()
    requests = plan(personas, REQUESTS)
    transactions_before, _servers = pooler_counts()
    sampler = Sampler()
    sampler.start()
    started = time.monotonic()
    try:
        outcome = run_load(pooled_app_servers, requests)
    finally:
        sampler.stopping.set()
        sampler.join()
    seconds = time.monotonic() - started

    assert not outcome.leaks, outcome.leaks[:5]
    assert not [s for s in outcome.statuses if s >= 500], outcome.statuses
    assert not outcome.unexpected, outcome.unexpected[:5]
    assert sum(outcome.statuses.values()) == REQUESTS
    refused = sum(1 for planned in requests if planned.expected_status == 403)
    assert outcome.statuses[403] == refused > 0
    # Every visit recorded is by the clinician on whose care team its patient is; none of the
    # refused ones was saved.
    saved = sum(1 for planned in requests if planned.expected_status == 302)
    assert outcome.statuses[302] == saved > 0
    total, by_care_team = visit_counts()
    assert total == by_care_team == saved + 2 * len(CLINICIANS) * len(PATIENTS_PER_CLINICIAN)

    # Multiplexing, seen from PgBouncer: one app server opened a client connection per request
    # (half of them), yet a pool of at most DEFAULT_POOL_SIZE server connections ran every
    # request's transactions ...
    transactions_after, servers = pooler_counts()
    transactions = transactions_after - transactions_before
    assert transactions >= REQUESTS
    assert 0 < servers <= pooler.DEFAULT_POOL_SIZE
    assert transactions / servers > 20
    # ... and from PostgreSQL: the server sessions passed from one staff member to another.
    assert 0 < len(sampler.staff_by_pid) <= pooler.DEFAULT_POOL_SIZE
    assert max(len(staff) for staff in sampler.staff_by_pid.values()) >= 2

    # Concurrent appends through the pool kept the access log's hash chain whole.
    report = verify_chain()
    assert report.ok, report.problem
    assert report.rows_checked >= REQUESTS // 2
    print(
        f"\n{REQUESTS} requests in {seconds:.1f} s ({REQUESTS / seconds:.0f}/s), "
        f"statuses {dict(outcome.statuses)}; PgBouncer: {transactions} transactions on "
        f"{servers} server connections; {len(sampler.staff_by_pid)} server sessions seen "
        f"in {sampler.samples} samples"
    )


def test_stress_plan_mixes_roles_reads_writes_and_refusals():
    clinician = Persona("clinician", "k", 1, ["/a"], [], ["/other"], ["/new"], ["/other/new"])
    requests = plan(
        [
            clinician,
            Persona("frontdesk", "k", 2, ["/b"], []),
            Persona("analyst", "k", 3, ["/c"], []),
        ],
        1000,
    )
    assert {planned.persona.role for planned in requests} == {"clinician", "frontdesk", "analyst"}
    kinds = Counter((planned.method, planned.path, planned.expected_status) for planned in requests)
    assert set(kinds) == {
        ("GET", "/a", 200),
        ("GET", "/b", 200),
        ("GET", "/c", 200),
        ("GET", "/other", 403),
        ("POST", "/new", 302),
        ("POST", "/other/new", 403),
    }
