"""PgBouncer in transaction mode in front of the embedded cluster, TLS on both sides.

`python -m localdb.pooler up|stop|status`. Clients (the web connection when CLINIC_DB_VIA_POOLER=1)
connect to it with sslmode=verify-full against the cluster CA; it connects to PostgreSQL over TLS
verified against the same CA. Transaction pooling is safe for the clinic because the per-request
context is transaction-local (set_config(..., true)) and psycopg's automatic prepared statements
are switched off on pooled connections (prepare_threshold = None).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

from localdb import cluster, dev_secrets
from localdb.server_packages import ClusterError, apt_install, as_server_user, is_root

# Server connections per (database, user) pair: what the web role's requests share.
DEFAULT_POOL_SIZE = 20


def pooler_dir() -> Path:
    return cluster.cluster_dir() / "pgbouncer"


def pooler_port() -> int:
    """This checkout's pooler port; CLINIC_POOLER_PORT points an app server at another one."""
    override = os.environ.get("CLINIC_POOLER_PORT", "")
    return int(override) if override else cluster.cluster_port() + 1


def binary() -> str:
    path = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(path).exists():
        if is_root() and shutil.which("apt-get"):
            apt_install(["pgbouncer"])
        else:
            raise ClusterError("pgbouncer is missing: sudo apt-get install -y pgbouncer")
    return path


# The web connections' limits, from the same variables and defaults as
# clinic/settings.py WEB_CONNECTION_LIMITS (tests/test_db_hardening.py checks they agree through
# the pooler). Set on each server connection: the pooler drops the startup options that carry
# them on a direct connection.
CONNECTION_LIMITS = {
    "statement_timeout": ("DB_STATEMENT_TIMEOUT_MS", 60_000),
    "lock_timeout": ("DB_LOCK_TIMEOUT_MS", 10_000),
    "idle_in_transaction_session_timeout": ("DB_IDLE_IN_TRANSACTION_MS", 60_000),
}


def connect_query() -> str:
    limits = [
        f"SET {name} = {int(os.environ.get(variable, default))}"
        for name, (variable, default) in CONNECTION_LIMITS.items()
    ]
    # As clinic/settings.py WEB_CONNECTION_SETTINGS.
    return "; ".join([*limits, "SET jit = off", "SET search_path = pg_catalog,public"])


def write_config(directory: Path | None = None, port: int | None = None) -> Path:
    """The pooler's configuration; `directory` and `port` for a second, private instance (the
    resilience tests stop and start one without touching this one)."""
    secrets = dev_secrets.ensure_secrets()
    directory = directory or pooler_dir()
    directory.mkdir(exist_ok=True)
    data = cluster.data_dir()
    userlist = directory / "userlist.txt"
    # Plain passwords here are read only by the pooler (mode 0600, owned by its OS user).
    userlist.write_text(
        f'"clinic_web" "{secrets["DB_WEB_PASSWORD"]}"\n'
        f'"clinic_owner" "{secrets["DB_OWNER_PASSWORD"]}"\n'
    )
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
* = host=127.0.0.1 port={cluster.cluster_port()} connect_query='{connect_query()}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port or pooler_port()}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
pool_mode = transaction
max_client_conn = 400
# The owner login may read the pooler's SHOW STATS/POOLS/SERVERS (the `pgbouncer` database).
stats_users = clinic_owner
default_pool_size = {DEFAULT_POOL_SIZE}
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
client_tls_sslmode = require
client_tls_cert_file = {data / "server.crt"}
client_tls_key_file = {directory / "client-side.key"}
client_tls_protocols = tlsv1.3
server_tls_sslmode = verify-full
server_tls_ca_file = {data / "ca.crt"}
server_tls_protocols = tlsv1.3
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
log_connections = 0
log_disconnections = 0
"""
    )
    # The pooler presents the cluster's server certificate (SAN localhost/127.0.0.1).
    key_copy = directory / "client-side.key"
    shutil.copyfile(data / "server.key", key_copy)
    for path in (userlist, ini, key_copy):
        os.chmod(path, 0o600)
        if is_root():
            shutil.chown(path, "postgres", "postgres")
    if is_root():
        shutil.chown(directory, "postgres", "postgres")
    return ini


def show(command: str) -> list[dict[str, object]]:
    """Rows of a read-only console command (e.g. "SHOW POOLS"), as the owner login.

    The console speaks only the simple query protocol, hence the raw libpq call."""
    import psycopg

    secrets = dev_secrets.read_secrets()
    with psycopg.connect(
        host="127.0.0.1",
        port=pooler_port(),
        dbname="pgbouncer",
        user="clinic_owner",
        password=secrets["DB_OWNER_PASSWORD"],
        sslmode="verify-full",
        sslrootcert=str(cluster.ca_file()),
        autocommit=True,
        prepare_threshold=None,
    ) as conn:
        result = conn.pgconn.exec_(command.encode())
        names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
        return [
            {
                name: (value.decode() if (value := result.get_value(row, col)) else None)
                for col, name in enumerate(names)
            }
            for row in range(result.ntuples)
        ]


def is_running(directory: Path | None = None) -> bool:
    pid_file = (directory or pooler_dir()) / "pgbouncer.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def up() -> None:
    cluster.up()
    ini_path = pooler_dir() / "pgbouncer.ini"
    before = ini_path.read_text() if ini_path.exists() else None
    ini = write_config()
    if is_running():
        if ini.read_text() == before:
            return  # already running with this configuration
        stop()
    deadline = time.monotonic() + 10
    while cluster.port_in_use(pooler_port()) and time.monotonic() < deadline:
        time.sleep(0.1)  # a stopping pgbouncer removes its pid file before its socket
    if cluster.port_in_use(pooler_port()):
        raise ClusterError(f"port {pooler_port()} is taken by another program")
    start(ini, pooler_port())
    print(f"pgbouncer up: 127.0.0.1:{pooler_port()} (transaction pooling, TLS both sides)")


def start(ini: Path, port: int) -> None:
    """Start the pgbouncer of `ini` (daemonised) and wait until it listens on `port`."""
    as_server_user([binary(), "-d", str(ini)], check=True)
    deadline = time.monotonic() + 10
    while not cluster.port_in_use(port):
        if time.monotonic() > deadline:
            raise ClusterError("pgbouncer did not start; see its log in " + str(ini.parent))
        time.sleep(0.1)


def stop(directory: Path | None = None) -> None:
    """Stop the pgbouncer whose pid file is in `directory` (default: this checkout's pooler):
    SIGTERM, an immediate shutdown that drops its client and server connections."""
    pid_file = (directory or pooler_dir()) / "pgbouncer.pid"
    if is_running(directory):
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not is_running(directory):
                break
            time.sleep(0.1)
        print("pgbouncer stopped")


def main(argv: list[str]) -> int:
    return cluster.run_commands("pooler", {
        "up": lambda _argv: up(),
        "stop": lambda _argv: stop(),
        "status": lambda _argv: print("running" if is_running() else "stopped"),
    }, argv)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv))
