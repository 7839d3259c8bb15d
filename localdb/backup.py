"""Backup and restore of the clinic database (pg_dump custom format, as the cluster superuser).

The dump holds ciphertext, blind indexes and the hash-chained access log, never keys: the field
and blind-index keys are kept apart (key custody, docs/deployment.md) and must be configured where
the dump is restored. Restoring recreates the database, the roles it needs, then checks that every
encrypted value decrypts and the access-log chain verifies.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import connections

from localdb import cluster


def _libpq_env() -> dict[str, str]:
    import os

    secrets = cluster.read_secrets()
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
        [str(cluster.bindir() / "pg_dump"), "--format=custom", "--file", str(path), database],
        env=_libpq_env(),
        check=True,
    )
    path.chmod(0o600)  # ciphertext and the log's patient ids: keep it private
    return time.monotonic() - started


def restore(path: Path, database: str) -> float:
    """Recreate `database` from the dump: roles first (they are cluster-wide), then the data."""
    from clinic.provisioning import ensure_roles, provision

    started = time.monotonic()
    cluster.drop_database(database)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, database)
    ensure_roles(connections["owner"])
    # Materialized views are refreshed afterwards by their owner: pg_restore runs with
    # row_security off, which refuses a refresh by a role that row-level security applies to.
    listing = subprocess.run(
        [str(cluster.bindir() / "pg_restore"), "--list", str(path)],
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
                str(cluster.bindir() / "pg_restore"),
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
    connections["owner"].close()
    provision()
    from analytics.refresh import refresh_all

    refresh_all()
    return time.monotonic() - started


@dataclass
class DecryptReport:
    values: int
    columns: int


def check_encrypted_columns(using: str = "owner") -> DecryptReport:
    """Decrypt every stored value of every encrypted column; raises DecryptionError if one fails."""
    from clinic.encryption import EncryptedFieldMixin

    values = columns = 0
    for model in apps.get_models():
        fields = [f for f in model._meta.fields if isinstance(f, EncryptedFieldMixin)]
        if not fields:
            continue
        columns += len(fields)
        names = [f.name for f in fields]
        rows = model._default_manager.using(using).values_list(*names)
        for row in rows.iterator(chunk_size=2000):
            values += sum(1 for value in row if value is not None)
    return DecryptReport(values=values, columns=columns)
