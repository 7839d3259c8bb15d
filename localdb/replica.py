"""A streaming hot standby of the embedded cluster, for analytics reads (make replica).

`python -m localdb.replica up|stop|status|rebuild`. The first `up` takes a base backup of the
running primary with `pg_basebackup -R` (over TLS, as the REPLICATION-only role
`clinic_replication`, password generated into .local/secrets.env) into `.local/pg/replica-data`;
`-R` writes `standby.signal` and the `primary_conninfo` the standby streams with. The copy brings
the primary's configuration along: TLS-only pg_hba, the server certificate and key, pgaudit and
scram, so the replica is reached exactly like the primary, on port cluster port + 2.

As with localdb/cluster.py, as root every server command runs as the `postgres` OS user.
A standby is read-only by construction: every transaction on it is a read-only transaction.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from localdb import cluster, dev_secrets
from localdb.server_packages import ClusterError, as_server_user, bindir


def replica_dir() -> Path:
    return cluster.cluster_dir() / "replica-data"


def replica_port() -> int:
    return cluster.cluster_port() + 2


def log_file() -> Path:
    return cluster.cluster_dir() / "replica.log"


def ensure_replication_role(values: dict[str, str]) -> None:
    from psycopg import sql

    with cluster.superuser_connect() as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [cluster.REPLICATION_ROLE]
        ).fetchone()
        conn.execute(
            sql.SQL("{} ROLE {} WITH LOGIN REPLICATION NOINHERIT PASSWORD {}").format(
                sql.SQL("ALTER" if exists else "CREATE"),
                sql.Identifier(cluster.REPLICATION_ROLE),
                sql.Literal(values["DB_REPLICATION_PASSWORD"]),
            )
        )


def base_backup(bin_path: Path, values: dict[str, str]) -> None:
    target = replica_dir()
    primary_ca = cluster.data_dir() / "ca.crt"
    conninfo = (
        f"host=127.0.0.1 port={cluster.cluster_port()} user={cluster.REPLICATION_ROLE} "
        f"password={values['DB_REPLICATION_PASSWORD']} sslmode=verify-full "
        f"sslrootcert={primary_ca} application_name=clinic_replica"
    )
    result = as_server_user(
        [
            str(bin_path / "pg_basebackup"),
            "-d",
            conninfo,
            "-D",
            str(target),
            "-R",
            "--checkpoint=fast",
            "--wal-method=stream",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise ClusterError("pg_basebackup failed:\n" + result.stderr)
    # -R wrote that conninfo for streaming; the standby verifies the primary with the copy of the
    # CA that came with the backup, so it does not depend on the primary's directory.
    auto_conf = target / "postgresql.auto.conf"
    text = auto_conf.read_text().replace(str(primary_ca), str(target / "ca.crt"))
    # Long analyst queries are not cancelled by the primary's vacuum.
    auto_conf.write_text(text + "hot_standby_feedback = on\n")


def is_running(bin_path: Path) -> bool:
    return cluster.server_running(bin_path, replica_dir())


def start(bin_path: Path) -> None:
    cluster.start_server(bin_path, replica_dir(), log_file(), replica_port(), "replica")


def superuser_dsn(dbname: str = "postgres") -> str:
    return cluster.superuser_dsn(dbname).replace(
        f"port={cluster.cluster_port()}", f"port={replica_port()}"
    )


def superuser_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(superuser_dsn(dbname), autocommit=True)


class FellBehind(ClusterError):
    """The primary no longer has the WAL the standby needs next."""


def wait_for_streaming(timeout: float = 60, *, log_offset: int | None = None) -> None:
    """Return once the standby streams. With `log_offset`, raise FellBehind as soon as its log
    (from that offset on) says the WAL it needs is gone, instead of waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if log_offset is not None and fell_behind(log_offset):
            raise FellBehind("the replica fell behind the WAL the primary keeps")
        try:
            with superuser_connect() as conn:
                if conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone() == (
                    "streaming",
                ):
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise ClusterError(
                f"the replica is not streaming; see {log_file()}. If it fell too far behind, "
                "`python -m localdb.replica rebuild` takes a fresh base backup."
            )
        time.sleep(0.2)


def wait_for_replay(timeout: float = 30) -> None:
    """Return once the replica has replayed everything the primary has written so far."""
    with cluster.superuser_connect() as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with superuser_connect() as replica:
        while not replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(target)]
        ).fetchone()[0]:
            if time.monotonic() > deadline:
                raise ClusterError("the replica did not catch up")
            time.sleep(0.05)


def system_identifier(bin_path: Path, directory: Path) -> str:
    result = as_server_user(
        [str(bin_path / "pg_controldata"), "-D", str(directory)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    for line in result.stdout.splitlines():
        if line.startswith("Database system identifier:"):
            return line.split(":", 1)[1].strip()
    return ""


def up() -> None:
    cluster.up()
    values = dev_secrets.ensure_secrets()
    bin_path = bindir()
    ensure_replication_role(values)
    if (replica_dir() / "PG_VERSION").exists() and system_identifier(
        bin_path, replica_dir()
    ) != system_identifier(bin_path, cluster.data_dir()):
        # A copy of a cluster that was since re-initialised can never stream from it.
        print("the replica belongs to an earlier cluster: taking a new base backup")
        discard()
    if not (replica_dir() / "PG_VERSION").exists():
        print(f"taking a base backup of the primary into {replica_dir()}")
        base_backup(bin_path, values)
    log = log_file()
    offset = log.stat().st_size if log.exists() else 0
    if not is_running(bin_path):
        start(bin_path)
    try:
        wait_for_streaming(log_offset=offset)
    except FellBehind:
        # The primary keeps no WAL for a stopped standby (no slot, wal_keep_size 0): one that was
        # stopped across a few checkpoints can never catch up. It is a copy and holds nothing
        # of its own, so a fresh one is taken.
        print("the replica fell behind the WAL the primary keeps: taking a new base backup")
        discard()
        base_backup(bin_path, values)
        start(bin_path)
        wait_for_streaming()
    print(f"replica up: 127.0.0.1:{replica_port()} (hot standby, streaming, TLS)")


# What the standby logs when the segment it needs next is gone from the primary.
FELL_BEHIND = "has already been removed"


def fell_behind(offset: int) -> bool:
    """Whether the standby's log, from `offset` on, says the primary no longer has the WAL it
    needs next."""
    try:
        with open(log_file(), encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            return FELL_BEHIND in handle.read()
    except OSError:  # no log yet, or not readable by this user: nothing known
        return False


def stop() -> None:
    cluster.stop_server(bindir(), replica_dir(), "replica")


def discard() -> None:
    """Stop the standby and throw its copy away."""
    stop()
    shutil.rmtree(replica_dir(), ignore_errors=True)


def rebuild() -> None:
    """Throw the standby away and take a fresh base backup (e.g. after it fell too far behind)."""
    discard()
    up()


def main(argv: list[str]) -> int:
    return cluster.run_commands("replica", {
        "up": lambda _argv: up(),
        "stop": lambda _argv: stop(),
        "rebuild": lambda _argv: rebuild(),
        "status": lambda _argv: print("running" if is_running(bindir()) else "stopped"),
    }, argv)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv))
