"""Measures taken inside one process against the scratch database: patient search through the
full request pipeline, statements per request, the role-switch statement, row-level security
vs an explicit WHERE, and one Argon2 password verification."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.test import Client, override_settings

SEARCH_URL = "/patients/search/"
BASELINE_SEARCH_URL = "/baseline/patients/search/"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "n": len(ordered),
    }


def timed(action: Callable[[int], object], count: int, warmup: int = 5) -> dict[str, float]:
    for number in range(warmup):
        action(number)
    samples = []
    for number in range(count):
        started = time.perf_counter()
        action(number)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@contextmanager
def baseline_overrides() -> Iterator[None]:
    """The baseline settings in this process. The baseline's pages read through the owner
    connection, which keeps plans here as the web connection does (as in baseline_settings.py
    for gunicorn), so the comparison is not of driver settings."""
    from benchmarks import baseline_settings

    owner = connections["owner"]
    saved = owner.settings_dict["OPTIONS"]
    owner.close()
    owner.settings_dict["OPTIONS"] = {**saved, "prepare_threshold": settings.WEB_PREPARE_THRESHOLD}
    try:
        with override_settings(
            ROOT_URLCONF="benchmarks.baseline_urls",
            MIDDLEWARE=baseline_settings.MIDDLEWARE,
            TEMPLATES=baseline_settings.TEMPLATES,
        ):
            yield
    finally:
        owner.close()
        owner.settings_dict["OPTIONS"] = saved


def patient_search(front_desk, samples: list[tuple], count: int) -> dict[str, dict]:
    def form(number: int) -> dict[str, str]:
        _pid, last_name, dob = samples[number % len(samples)]
        return {"mode": "last_name_dob", "last_name": last_name, "date_of_birth": dob.isoformat()}

    secure = signed_in_client(front_desk)

    def search(number: int) -> None:
        response = secure.post(SEARCH_URL, form(number))
        assert response.status_code == 200 and b"Benchperson" in response.content

    result = {"secure": timed(search, count)}
    with baseline_overrides():
        baseline = signed_in_client(front_desk)

        def plain_search(number: int) -> None:
            response = baseline.post(BASELINE_SEARCH_URL, form(number))
            assert response.status_code == 200 and b"Benchperson" in response.content

        result["baseline"] = timed(plain_search, count)
    return result


def statements_per_request(clinician, patient_id) -> dict[str, int]:
    """Statements sent on each connection during one visit-list request, secure and baseline."""
    from clinic.db_context import CONTEXT_STATEMENTS

    counts = {"secure": 0, "secure_context": 0, "baseline": 0}

    def counter(key: str):
        def wrapper(execute, sql, params, many, context):
            counts[key] += 1
            if sql in CONTEXT_STATEMENTS:
                counts["secure_context"] += 1
            return execute(sql, params, many, context)

        return wrapper

    client = signed_in_client(clinician)
    client.get(f"/patients/{patient_id}/visits/")  # warm: session touch, caches
    with connections["default"].execute_wrapper(counter("secure")):
        assert client.get(f"/patients/{patient_id}/visits/").status_code == 200
    with baseline_overrides():
        client = signed_in_client(clinician)
        client.get(f"/baseline/patients/{patient_id}/visits/")
        with (
            connections["default"].execute_wrapper(counter("baseline")),
            connections["owner"].execute_wrapper(counter("baseline")),
        ):
            assert client.get(f"/baseline/patients/{patient_id}/visits/").status_code == 200
    return counts


def context_statement(clinician_id: int, count: int) -> dict[str, dict]:
    """CONTEXT_SQL alone (inside a transaction), and the whole BEGIN + it + COMMIT."""
    from benchmarks.access_log_append import web_connection
    from clinic.db_context import CONTEXT_SQL

    params = ["", "clinic_clinician", str(clinician_id), f"staff:{clinician_id}"]
    statement, transaction = [], []
    with web_connection() as conn:
        for number in range(count + 20):
            began = time.perf_counter()
            with conn.transaction():
                started = time.perf_counter()
                conn.execute(CONTEXT_SQL, params).fetchone()
                done = time.perf_counter()
            ended = time.perf_counter()
            if number >= 20:
                statement.append(done - started)
                transaction.append(ended - began)
    return {"statement": percentiles(statement), "transaction": percentiles(transaction)}


CLINICIAN_PATIENT = (
    "SELECT record_id, provider_id, diagnosis_code, visit_date FROM clinical_records "
    "WHERE patient_id = %s ORDER BY visit_date DESC"
)
CLINICIAN_PANEL = (
    "SELECT record_id, patient_id, diagnosis_code, visit_date FROM clinical_records "
    "WHERE visit_date >= (SELECT clinic_today()) - 30 ORDER BY visit_date DESC, record_id LIMIT 50"
)


# The one page that lists visits across patients (records/unsigned.py `unsigned_notes`, the
# clinician's overdue unsigned notes, oldest first, UNSIGNED_NOTE_DAYS after the visit): its own
# filter is the provider, and row-level security then keeps the patients the clinician may see.
# At the benchmark's scale none of the clinician's visits is signed, so the first 50 are read.
def clinician_unsigned() -> str:
    return (
        "SELECT record_id, patient_id, diagnosis_code, visit_date FROM clinical_records "
        "WHERE provider_id = %s AND signed_at IS NULL "
        f"AND visit_date < (SELECT clinic_today()) - {int(settings.UNSIGNED_NOTE_DAYS)} "
        "ORDER BY visit_date, record_id LIMIT 50"
    )


CARE_TEAM = (
    " AND patient_id IN (SELECT ct.patient_id FROM care_team ct WHERE ct.staff_id = %s"
    " AND ct.starts_on <= (SELECT clinic_today())"
    " AND (ct.ends_on IS NULL OR ct.ends_on >= (SELECT clinic_today())))"
)


def _explicit(query: str, condition: str = CARE_TEAM) -> str:
    head, _, tail = query.partition(" ORDER BY ")
    return f"{head}{condition} ORDER BY {tail}"


def _same_rule(clinician_id: int) -> str:
    """The policy's own condition (records/db_grants.py: care team today, a live appointment
    today, an active break-the-glass grant), written out for the owner with the clinician's id
    in place of the verified staff id: the same rule without row-level security, where
    CARE_TEAM is its first path only."""
    from clinic.staff_identity import STAFF_ID
    from records.db_grants import clinician_may_see

    rule = clinician_may_see("clinical_records.patient_id").replace(
        STAFF_ID, str(int(clinician_id))
    )
    return f" AND {rule}"


def row_level_security(clinician_id: int, samples: list[tuple], count: int) -> dict:
    """A clinician's queries under RLS (web login, role switched) vs the owner with the care-team
    filter written out. Both return the same rows; the panel query is checked."""
    from benchmarks.access_log_append import web_connection
    from clinic.staff_identity import attribution, mint

    results: dict = {}
    owner = connections["owner"]
    owner.ensure_connection()
    with web_connection() as web, web.transaction():
        web.execute(
            "SELECT set_config('role', 'clinic_clinician', true), "
            "set_config('app.staff_token', %s, true), set_config('application_name', %s, true)",
            [mint(clinician_id, "clinic_clinician"), attribution(clinician_id, "clinic_clinician")],
        )
        for label, query, per_patient in (
            ("one patient's visits", CLINICIAN_PATIENT, True),
            ("panel: last 30 days, 50 newest", CLINICIAN_PANEL, False),
            ("unsigned notes, 50 oldest (across patients)", clinician_unsigned(), None),
        ):
            # per_patient: True, the patient's id; False, nothing; None, the clinician's id.
            def params(number: int, extra: tuple = (), per_patient=per_patient) -> tuple:
                if per_patient is None:
                    return (clinician_id, *extra)
                patient = (samples[number % len(samples)][0],) if per_patient else ()
                return patient + extra

            def under_rls(number: int, query=query, params=params) -> list:
                return web.execute(query, params(number)).fetchall()

            def explicit(number: int, query=query, params=params) -> list:
                with owner.cursor() as cursor:
                    cursor.execute(_explicit(query), params(number, (clinician_id,)))
                    return cursor.fetchall()

            same_rule_sql = _explicit(query, _same_rule(clinician_id))

            def same_rule(number: int, sql=same_rule_sql, params=params) -> list:
                with owner.cursor() as cursor:
                    cursor.execute(sql, params(number))
                    return cursor.fetchall()

            assert sorted(map(str, under_rls(0))) == sorted(map(str, explicit(0)))
            assert sorted(map(str, under_rls(0))) == sorted(map(str, same_rule(0)))
            plan = [row[0] for row in web.execute("EXPLAIN " + query, params(0)).fetchall()]
            results[label] = {
                "rls": timed(under_rls, count),
                "explicit": timed(explicit, count),
                "same_rule": timed(same_rule, count),
                "initplans": sum("InitPlan" in line for line in plan),
                "subplans": sum("SubPlan" in line for line in plan),
                "plan": plan,
            }
    return results


def password_verification(count: int) -> dict[str, float]:
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("bench-only-password-1")
    return timed(lambda _n: check_password("bench-only-password-1", encoded), count, warmup=2)


def page_costs(front_desk, clinician, samples: list[tuple]) -> dict[str, dict]:
    """Issue #23 / #20 item 4: statements on the web connection and values decrypted by one
    request of each patient page (after a warm-up request of the same page), by column."""
    from clinic import encryption

    patient_id, last_name, dob = samples[0]
    search = {"mode": "last_name_dob", "last_name": last_name, "date_of_birth": dob.isoformat()}
    pages = {
        "search (front desk, POST)": (front_desk, "post", SEARCH_URL, search),
        "summary (front desk)": (front_desk, "get", f"/patients/{patient_id}/", None),
        "summary (clinician)": (clinician, "get", f"/patients/{patient_id}/", None),
        "visit list (clinician)": (clinician, "get", f"/patients/{patient_id}/visits/", None),
        "clinician home (my day)": (clinician, "get", "/", None),
        "front desk home (today)": (front_desk, "get", "/", None),
    }
    results: dict[str, dict] = {}
    original = encryption.decrypt_value
    for label, (user, method, url, data) in pages.items():
        client = signed_in_client(user)
        send = getattr(client, method)
        assert send(url, data or {}).status_code == 200
        statements = [0]
        decrypted: dict[str, int] = {}

        def count(execute, sql, params, many, context, statements=statements):
            statements[0] += 1
            return execute(sql, params, many, context)

        def counting(stored: str, aad: str, decrypted=decrypted) -> str:
            decrypted[aad] = decrypted.get(aad, 0) + 1
            return original(stored, aad)

        encryption.decrypt_value = counting  # type: ignore[assignment]
        try:
            with connections["default"].execute_wrapper(count):
                assert send(url, data or {}).status_code == 200
        finally:
            encryption.decrypt_value = original  # type: ignore[assignment]
        results[label] = {"statements": statements[0], "decrypted": decrypted}
    return results
