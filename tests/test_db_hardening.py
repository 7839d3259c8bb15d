"""Hardening around the grants, proven with the attacker's SQL on the web login's connection:
it reaches the clinic's database only, makes no TEMP tables, cannot loosen its own limits for
later sessions, speaks TLS 1.3 only; the server log is private. Also run through PgBouncer
(Makefile POOLED_TESTS): the pooler applies the same limits."""

from __future__ import annotations

import stat

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from clinic.db_context import apply_context
from clinic.staff import database_role_for
from localdb import cluster
from tests.conftest import TEST_DATABASE

# cluster_wide: the web login's role settings; the server log (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]


def web_dsn(**overrides: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"],
        "port": str(db["PORT"]),
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": TEST_DATABASE,
        "sslmode": "verify-full",
        "sslrootcert": db["OPTIONS"]["sslrootcert"],
        **overrides,
    }


@pytest.mark.parametrize("dbname", ["postgres", "template1"])
def test_the_web_login_reaches_no_other_database(dbname):
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(**web_dsn(dbname=dbname)).close()


def test_the_web_login_makes_no_temp_tables():
    with pytest.raises(DatabaseError, match="permission denied to create temporary tables"):
        with transaction.atomic(), connections["default"].cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE probe (id integer)")


def test_a_role_default_set_by_injected_sql_does_not_reach_later_requests(staff):
    """Injected SQL may set role defaults (a role may set its own) or RESET ALL a pooled server
    connection; every later request still runs with the configured limits: sent with each
    direct connection, and set again, transaction-local, by every request's context statement."""
    limits = {
        **{name: str(value) for name, value in settings.WEB_CONNECTION_LIMITS.items()},
        **settings.WEB_CONNECTION_SETTINGS,
    }
    try:
        with connections["default"].cursor() as cursor:
            for name in limits:
                try:
                    cursor.execute(f"ALTER ROLE clinic_web SET {name} = 1")
                except DatabaseError:
                    pass  # refused is fine too
            cursor.execute("RESET ALL")  # as a pooled server connection might arrive
        connections["default"].close()
        with transaction.atomic(using="default"):
            apply_context(database_role_for(staff["clinician"]), staff["clinician"].pk)
            with connections["default"].cursor() as cursor:
                for name, value in limits.items():
                    cursor.execute("SELECT setting FROM pg_settings WHERE name = %s", [name])
                    assert cursor.fetchone()[0] == value, name
    finally:
        with cluster.superuser_connect() as conn:
            conn.execute("ALTER ROLE clinic_web RESET ALL")
        connections["default"].close()


def test_tls_below_1_3_is_refused():
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**web_dsn(ssl_max_protocol_version="TLSv1.2")).close()
    with psycopg.connect(**web_dsn()) as conn:
        row = conn.execute("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert row.fetchone() == ("TLSv1.3",)


@pytest.mark.parametrize("user", ["web", "owner"])
def test_the_cluster_rejects_connections_without_tls(user):
    """The server itself (pg_hba.conf `hostnossl ... reject`), not the client's settings: a
    client that asks for no encryption, with the right password, is refused by the cluster."""
    db = settings.DATABASES["default" if user == "web" else "owner"]
    dsn = {
        **web_dsn(sslmode="disable", user=db["USER"], password=db["PASSWORD"]),
        "host": "127.0.0.1",
        "port": str(cluster.cluster_port()),  # the cluster, even when the suite runs pooled
    }
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(**dsn, connect_timeout=5).close()
    assert "pg_hba.conf rejects connection" in str(refused.value)
    assert "no encryption" in str(refused.value)
    with psycopg.connect(**{**dsn, "sslmode": "verify-full"}, connect_timeout=5) as conn:
        assert conn.pgconn.ssl_in_use  # the same client with TLS gets in: the refusal is TLS's


def test_the_server_log_is_private():
    mode = stat.S_IMODE(cluster.log_file().stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)
