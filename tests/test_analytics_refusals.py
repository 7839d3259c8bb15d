"""The analyst is refused every patient, record, care-team and privacy page, and the database
refuses the underlying tables too (raw SQL under the analyst role, on the web connection)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections, transaction
from django.db.utils import ProgrammingError
from django.urls import URLPattern, URLResolver, get_resolver

from clinic.db_context import apply_context

pytestmark = pytest.mark.usefixtures("clinic_db")
GUARDED_NAMESPACES = {"patients", "records", "break_glass", "privacy", "scheduling"}
PHI_TABLES = ["clinical_records", "patient_identities", "care_team", "access_log", "appointments"]


def _paths(patterns=None, prefix: str = "", namespace: str | None = None):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _paths(
                entry.url_patterns,
                prefix + str(entry.pattern),
                entry.namespace or namespace,
            )
        elif isinstance(entry, URLPattern) and namespace in GUARDED_NAMESPACES:
            yield "/" + _fill(prefix + str(entry.pattern))


def _fill(route: str) -> str:
    # A fixed id per route (no row has it): the parameters are the same in every collecting
    # process, as a parallel run requires (tests/cluster_share.py).
    sample = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, route)),
        "int": "1",
        "str": "x",
        "slug": "x",
        "path": "x",
    }
    for converter, value in sample.items():
        while f"<{converter}:" in route:
            start = route.index(f"<{converter}:")
            route = route[:start] + value + route[route.index(">", start) + 1 :]
    return route


GUARDED_PATHS = sorted(set(_paths()))


def test_the_guarded_pages_were_found():
    assert len(GUARDED_PATHS) >= 15, GUARDED_PATHS


@pytest.mark.parametrize("path", GUARDED_PATHS)
def test_analyst_gets_403_on_patient_record_care_team_and_privacy_pages(client_for, staff, path):
    client = client_for(staff["analyst"])
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})
    assert response.status_code == 403, path


def test_analyst_cannot_use_the_admin(client_for, staff):
    response = client_for(staff["analyst"]).get("/admin/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]
    assert client_for(staff["analyst"]).get("/admin/auth/user/").status_code in (302, 403)


@pytest.mark.parametrize("table", PHI_TABLES)
def test_database_refuses_the_analyst_the_underlying_tables(staff, table):
    with pytest.raises(ProgrammingError, match="permission denied"):
        with transaction.atomic(), connections["default"].cursor() as cursor:
            apply_context("clinic_analyst", staff["analyst"].pk)
            cursor.execute(f'SELECT 1 FROM "{table}" LIMIT 1')


def test_database_refuses_the_analyst_auth_user_beyond_sign_in_columns(staff):
    # Provider names come from the analytics_providers view, not from auth_user grants.
    with transaction.atomic(), connections["default"].cursor() as cursor:
        apply_context("clinic_analyst", staff["analyst"].pk)
        cursor.execute("SELECT count(*) FROM analytics_providers")
        assert cursor.fetchone()[0] == 2
