"""Analytics on a streaming read replica: dashboards read the standby as clinic_analyst, through
the analyst views only, never write there, and show how far behind the primary they are.

The session fixture starts the embedded standby (localdb/replica.py; the test database lives in
the same cluster, so the standby carries it too) and adds the `replica` alias the way the
settings do when CLINIC_ANALYTICS_ON_REPLICA=1. Each test chooses the setting with
`settings.ANALYTICS_DATABASE` ("replica" or "default").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connections, router, transaction
from django.utils import timezone

from analytics import selectors
from analytics.models import RefreshLog
from clinic.db_context import apply_context
from localdb import cluster, dev_secrets, replica
from tests.analytics_helpers import refresh
from tests.conftest import TEST_DATABASE
from tests.factories import ClinicalRecordFactory, PatientFactory, this_month

# cluster_wide: a standby streaming from the cluster (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]
ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = "/analytics/"
EXPORT = "/analytics/export/"


@pytest.fixture(scope="session")
def replica_alias(django_db_setup):
    replica.up()
    replica.wait_for_replay()  # the freshly created test database
    config = {
        **connections.settings["default"],
        "NAME": TEST_DATABASE,
        "PORT": str(replica.replica_port()),
        "OPTIONS": {**connections.settings["default"]["OPTIONS"]},
    }
    connections.settings["replica"] = config
    yield "replica"
    connections["replica"].close()
    del connections.settings["replica"]


@pytest.fixture
def on_replica(replica_alias, settings):
    settings.ANALYTICS_DATABASE = replica_alias
    yield replica_alias
    connections[replica_alias].close()


def visits_on_primary(staff, count: int = 12) -> None:
    patient = PatientFactory(sentinel=True, birth_year=1980, state="CA")
    ClinicalRecordFactory.create_batch(
        count,
        patient=patient,
        provider=staff["clinician"],
        diagnosis_code="E119",
        visit_date=this_month(),
        sentinel=True,
    )
    refresh()


def test_dashboard_on_the_replica_shows_what_the_primary_wrote(client_for, staff, on_replica):
    visits_on_primary(staff)
    replica.wait_for_replay()
    response = client_for(staff["analyst"]).get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="visit-total">12</strong>' in html
    assert "never" not in html
    assert 'id="replica-state">Read from a replica' in html


def test_dashboard_reads_the_replica_not_the_primary(client_for, staff, on_replica):
    client = client_for(staff["analyst"])
    refresh()  # empty rollups, on both once replayed
    replica.wait_for_replay()
    with replica.superuser_connect() as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            visits_on_primary(staff, 15)
            paused = client.get(DASHBOARD).content.decode()
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert re.search(r'id="visit-total">(.*?)<', paused).group(1) == "0"
    replica.wait_for_replay()
    assert '<strong id="visit-total">15</strong>' in client.get(DASHBOARD).content.decode()


def test_replica_lag_is_measured_on_the_standby(staff, on_replica, rf):
    request = rf.get(DASHBOARD)
    request.user = staff["analyst"]
    replica.wait_for_replay()
    with selectors.analyst_reads(request):
        state = selectors.replica_state()
        as_of = selectors.data_as_of()
    assert state is not None and state.lag.total_seconds() == 0
    assert as_of is None  # nothing refreshed in this test


def test_export_reads_the_replica_and_logs_on_the_primary(client_for, staff, on_replica):
    visits_on_primary(staff)
    replica.wait_for_replay()
    month = timezone.localdate().strftime("%Y-%m")
    response = client_for(staff["analyst"]).post(EXPORT, {"start": month, "end": month})
    assert response.status_code == 200
    assert response.content.decode().count("\n") == 13  # header + 12 visits
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT staff_id FROM access_log WHERE action = 'export'")
        assert cursor.fetchall() == [(staff["analyst"].pk,)]


def test_a_write_through_the_replica_alias_fails(staff, on_replica):
    with pytest.raises(Exception, match="read-only transaction"):
        with transaction.atomic(using=on_replica):
            apply_context("clinic_analyst", staff["analyst"].pk, alias=on_replica)
            with connections[on_replica].cursor() as cursor:
                cursor.execute(
                    "INSERT INTO analytics_refresh_log (refreshed_at, duration_seconds) "
                    "VALUES (now(), 0)"
                )


def test_the_router_never_sends_a_write_to_the_replica(on_replica):
    assert router.db_for_read(RefreshLog) == on_replica
    assert router.db_for_write(RefreshLog) == "default"


@pytest.mark.parametrize(
    "table", ["clinical_records", "patient_identities", "access_log", "clinical_records_analyst"]
)
def test_analyst_cannot_read_raw_tables_on_the_replica(staff, on_replica, table):
    with transaction.atomic(using=on_replica):
        apply_context("clinic_analyst", staff["analyst"].pk, alias=on_replica)
        with connections[on_replica].cursor() as cursor:
            with pytest.raises(Exception, match="permission denied"):
                cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608


def test_replica_serves_only_verified_tls(replica_alias):
    secrets = dev_secrets.read_secrets()
    base = (
        f"host=127.0.0.1 port={replica.replica_port()} dbname={TEST_DATABASE} user=clinic_web "
        f"password={secrets['DB_WEB_PASSWORD']}"
    )
    with psycopg.connect(f"{base} sslmode=verify-full sslrootcert={cluster.ca_file()}") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"{base} sslmode=disable", connect_timeout=5)
    # The standby's own pg_hba.conf refuses it, not a connection failure of any kind.
    assert "pg_hba.conf rejects connection" in str(refused.value)
    assert "no encryption" in str(refused.value)


def test_replica_streams_over_tls_as_the_replication_role(replica_alias):
    with cluster.superuser_connect() as primary:
        rows = primary.execute(
            "SELECT r.usename, r.state, s.ssl FROM pg_stat_replication r "
            "JOIN pg_stat_ssl s ON s.pid = r.pid WHERE r.application_name = 'clinic_replica'"
        ).fetchall()
    assert rows == [(cluster.REPLICATION_ROLE, "streaming", True)]


def test_without_a_replica_analytics_stay_on_the_request_connection(client_for, staff, settings):
    settings.ANALYTICS_DATABASE = "default"
    visits_on_primary(staff)
    assert selectors.analytics_alias() == "default"
    assert router.db_for_read(RefreshLog) == "default"
    html = client_for(staff["analyst"]).get(DASHBOARD).content.decode()
    assert '<strong id="visit-total">12</strong>' in html
    assert "replica-state" not in html


def settings_databases(env: dict[str, str]) -> dict:
    code = (
        "import django,json;django.setup();from django.conf import settings as s;"
        "print(json.dumps({'aliases': sorted(s.DATABASES), 'analytics': s.ANALYTICS_DATABASE,"
        "'replica': {k: s.DATABASES.get('replica', {}).get(k) for k in ('HOST','PORT','USER')}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/"),
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **env,
        },
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_settings_add_the_replica_alias_only_when_asked():
    assert settings_databases({}) == {
        "aliases": ["default", "owner"],
        "analytics": "default",
        "replica": {"HOST": None, "PORT": None, "USER": None},
    }
    embedded = settings_databases({"CLINIC_ANALYTICS_ON_REPLICA": "1"})
    assert embedded["analytics"] == "replica"
    assert embedded["replica"] == {
        "HOST": "127.0.0.1",
        "PORT": str(replica.replica_port()),
        "USER": "clinic_web",
    }
    # DATABASE_REPLICA_URL (a managed replica) in production: tests/test_deployment.py.


def test_a_standby_stopped_past_the_kept_wal_is_rebuilt_by_up(replica_alias):
    """The primary keeps no WAL for a stopped standby: once its checkpoints have recycled the
    segment the standby needs, `replica.up()` notices it in the standby's log and takes a new
    base backup, instead of failing every replica test until someone rebuilds it by hand.
    Runs last in the module: the standby it leaves streaming is a new one."""
    connections[replica_alias].close()
    replica.stop()
    with cluster.superuser_connect(TEST_DATABASE) as primary:
        primary.execute("CREATE TABLE IF NOT EXISTS replica_wal_filler (n integer)")
        for n in range(6):  # each switch ends a segment; two checkpoints recycle the old ones
            primary.execute("INSERT INTO replica_wal_filler VALUES (%s)", [n])
            primary.execute("SELECT pg_switch_wal()")
        primary.execute("CHECKPOINT")
        primary.execute("SELECT pg_switch_wal()")
        primary.execute("CHECKPOINT")
        primary.execute("DROP TABLE replica_wal_filler")
    offset = replica.log_file().stat().st_size
    replica.up()
    assert replica.fell_behind(offset), "the standby did not fall behind: the test proves nothing"
    replica.wait_for_replay()
    with replica.superuser_connect(TEST_DATABASE) as standby:
        assert standby.execute("SELECT to_regclass('replica_wal_filler')").fetchone() == (None,)
        assert standby.execute("SELECT status FROM pg_stat_wal_receiver").fetchone() == (
            "streaming",
        )
