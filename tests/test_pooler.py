"""PgBouncer in transaction mode: TLS to clients, and no context survives a transaction."""

from __future__ import annotations

import psycopg
import pytest

from localdb import cluster, dev_secrets, pooler
from tests.conftest import TEST_DATABASE

# cluster_wide: the checkout's shared pooler (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]


@pytest.fixture(scope="module")
def pooler_up():
    pooler.up()  # starts it, or restarts it if its configuration changed


def dsn(**overrides: str) -> str:
    secrets = dev_secrets.read_secrets()
    params = {
        "host": "127.0.0.1",
        "port": str(pooler.pooler_port()),
        "dbname": TEST_DATABASE,
        "user": "clinic_web",
        "password": secrets["DB_WEB_PASSWORD"],
        "sslmode": "verify-full",
        "sslrootcert": str(cluster.ca_file()),
        **overrides,
    }
    return " ".join(f"{k}={v}" for k, v in params.items())


def test_pooler_accepts_verified_tls(pooler_up):
    with psycopg.connect(dsn(), prepare_threshold=None) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("clinic_web",)
        assert conn.pgconn.ssl_in_use


def test_pooler_refuses_plaintext_clients(pooler_up):
    """PgBouncer itself refuses (client_tls_sslmode = require), with the right password: the
    error is its TLS refusal, not any connection failure."""
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(dsn(sslmode="disable"), connect_timeout=5)
    assert "SSL required" in str(refused.value)


def test_transaction_local_context_does_not_survive_in_the_pool(pooler_up, staff):
    uid = str(staff["clinician"].pk)
    with psycopg.connect(dsn(), prepare_threshold=None) as first:
        with first.transaction():
            first.execute(
                "SELECT set_config('role', 'clinic_clinician', true), "
                "set_config('app.staff_token', %s, true)",
                [uid],
            )
    # A new client, handed whichever server connection the pool has.
    with psycopg.connect(dsn(), prepare_threshold=None) as second:
        row = second.execute(
            "SELECT current_user, coalesce(current_setting('app.staff_token', true), '')"
        ).fetchone()
    assert row == ("clinic_web", "")
