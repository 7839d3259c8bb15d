"""Backup and restore of the clinic database (pg_dump custom format, as the cluster superuser).

The dump holds ciphertext, blind indexes and the hash-chained access log, never keys: the field
and blind-index keys are kept apart (key custody, docs/deployment.md) and must be configured where
the dump is restored. This module only runs the PostgreSQL tools against the local cluster; the
restore_db command recreates the roles, provisions, refreshes the analytics and checks that every
encrypted value decrypts and that the access-log chain verifies.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from localdb import cluster, dev_secrets
from localdb.server_packages import bindir


def _libpq_env() -> dict[str, str]:
    import os

    secrets = dev_secrets.read_secrets()
    return {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.cluster_port()),
        "PGUSER": cluster.SUPERUSER,
        "PGPASSWORD": secrets["PG_SUPERUSER_PASSWORD"],
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(cluster.ca_file()),
    }


def dump(path: Path, database: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [str(bindir() / "pg_dump"), "--format=custom", "--file", str(path), database],
        env=_libpq_env(),
        check=True,
    )
    path.chmod(0o600)  # ciphertext and the log's patient ids: keep it private
    return time.monotonic() - started


def recreate_database(database: str) -> None:
    """An empty `database` owned by the audit owner (the one being restored is dropped)."""
    cluster.drop_database(database)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, database)


def load(path: Path, database: str) -> None:
    """pg_restore the dump into `database` (the roles it grants to must exist already).

    Materialized views are left empty, to be refreshed afterwards by their owner: pg_restore runs
    with row_security off, which refuses a refresh by a role that row-level security applies to.
    """
    listing = subprocess.run(
        [str(bindir() / "pg_restore"), "--list", str(path)],
        env=_libpq_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wanted = "\n".join(
        line for line in listing.splitlines() if "MATERIALIZED VIEW DATA" not in line
    )
    list_file = path.with_suffix(".list")
    list_file.write_text(wanted)
    try:
        subprocess.run(
            [
                str(bindir() / "pg_restore"),
                "--exit-on-error",
                "--use-list",
                str(list_file),
                "--dbname",
                database,
                str(path),
            ],
            env=_libpq_env(),
            check=True,
        )
    finally:
        list_file.unlink(missing_ok=True)
