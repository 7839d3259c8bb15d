"""The embedded PostgreSQL cluster: one per checkout, TLS, scram, pgaudit.

Run as ``python -m localdb.cluster up|stop|status|psql|superuser-dsn``. It needs only the
standard library, psycopg and ``cryptography`` (for the self-signed CA), so the Makefile can call
it straight after the virtualenv is built and before Django is configured.

Why it looks the way it does:
- ``initdb``/``pg_ctl`` refuse to run as root, so as root every server command runs as the
  ``postgres`` OS user and the cluster lives under /var/lib/clinic-pg/<checkout hash> (reachable
  by that user wherever the checkout sits), with ``.local/pg`` a symlink to it.
- Each checkout gets its own port, derived from its path and remembered, so two checkouts and the
  system PostgreSQL on 5432 never collide.
- The server accepts TLS only (``hostnossl ... reject``); clients verify it against the
  cluster's own CA (``sslmode=verify-full``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from localdb.certificates import write_certificates
from localdb.dev_secrets import BASE_DIR, LOCAL_DIR, ensure_secrets, read_secrets
from localdb.server_packages import (
    ClusterError,
    as_server_user,
    bindir,
    ensure_server_packages,
    is_root,
)

DATABASE_NAME = "clinic"
SUPERUSER = "postgres"
LOGIN_ROLES = ("clinic_owner", "clinic_web")
# Owns the access log and the public schema; no login is a member (clinic/bootstrap.py).
AUDIT_OWNER = "clinic_audit_owner"
# Extensions the application uses (scheduling's exclusion constraints: btree_gist; pgcrypto),
# created by the superuser: the owner login holds no CREATE on the database.
EXTENSIONS = ("pgcrypto", "btree_gist")
# Streams WAL to the standby (localdb/replica.py); REPLICATION only, no database rights.
REPLICATION_ROLE = "clinic_replication"

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    "shared_buffers": "'256MB'",
    "ssl": "on",
    "ssl_cert_file": "'server.crt'",
    "ssl_key_file": "'server.key'",
    "ssl_ca_file": "'ca.crt'",
    # TLS 1.3 only: every suite is AEAD (1.2 would also offer CBC/SHA-1 suites).
    "ssl_min_protocol_version": "'TLSv1.3'",
    "password_encryption": "'scram-sha-256'",
    "shared_preload_libraries": "'pgaudit'",
    "pgaudit.log": "'all, -misc'",
    "pgaudit.log_parameter": "off",
    "pgaudit.log_catalog": "off",
    "pgaudit.log_relation": "on",
    # A unique violation's DETAIL line carries the key value: keep it out of the log.
    "log_error_verbosity": "terse",
    # %u = database role, %a = application_name ('staff:<id>/<role>' per request), never a name.
    "log_line_prefix": "'%m [%p] user=%u db=%d app=%a '",
    "log_timezone": "'UTC'",
    "timezone": "'UTC'",
    "fsync": "on",
}

PG_HBA = """# Managed by localdb/cluster.py. TLS only, scram passwords only.
hostssl replication clinic_replication 127.0.0.1/32 scram-sha-256
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl all all ::1/128 scram-sha-256
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
"""


def checkout_hash() -> str:
    place = BASE_DIR if LOCAL_DIR == BASE_DIR / ".local" else LOCAL_DIR
    return hashlib.sha256(str(place).encode()).hexdigest()[:12]


def cluster_dir() -> Path:
    # Server commands get the real path: as root the link sits in a checkout the postgres OS
    # user may not be able to enter, while its target (/var/lib/clinic-pg/...) is reachable.
    link = LOCAL_DIR / "pg"
    return link.resolve() if link.is_symlink() else link


def data_dir() -> Path:
    return cluster_dir() / "data"


def log_file() -> Path:
    return cluster_dir() / "server.log"


def ca_file() -> Path:
    return cluster_dir() / "ca.crt"


# --- layout, port ----------------------------------------------------------------------------


def ensure_layout() -> None:
    LOCAL_DIR.mkdir(exist_ok=True)
    link = LOCAL_DIR / "pg"
    if is_root():
        target = Path("/var/lib/clinic-pg") / checkout_hash()
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        shutil.chown(target, "postgres", "postgres")
        os.chmod(target, 0o755)
        if link.is_symlink() and Path(os.readlink(link)) != target:
            link.unlink()
        if not link.exists() and not link.is_symlink():
            link.symlink_to(target)
    else:
        link.mkdir(exist_ok=True)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def cluster_port() -> int:
    port_file = cluster_dir() / "port"
    if port_file.exists():
        return int(port_file.read_text().strip())
    port = 20000 + zlib.crc32(str(BASE_DIR).encode()) % 10000
    while port_in_use(port):
        port += 1
    port_file.write_text(f"{port}\n")
    return port


# --- lifecycle -------------------------------------------------------------------------------


def initdb(bin_path: Path, values: dict[str, str]) -> None:
    data = data_dir()
    pwfile = cluster_dir() / "initdb.pw"
    pwfile.write_text(values["PG_SUPERUSER_PASSWORD"] + "\n")
    os.chmod(pwfile, 0o600)
    if is_root():
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        result = as_server_user(
            [
                str(bin_path / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--data-checksums",
            ],
            capture_output=True,
            text=True,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ClusterError("initdb failed:\n" + result.stderr)
    write_certificates(data, ca_file())
    write_server_settings(data)
    (data / "pg_hba.conf").write_text(PG_HBA)


SETTINGS_MARK = "\n# localdb/cluster.py\n"


def write_server_settings(data: Path) -> bool:
    """Bring postgresql.conf's block of SERVER_SETTINGS up to date; True if it changed (an
    existing cluster then restarts, so a checkout made before a setting changed gets it too)."""
    conf = data / "postgresql.conf"
    text = conf.read_text()
    base = text.split(SETTINGS_MARK, 1)[0]
    wanted = base + SETTINGS_MARK + "".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items())
    if text == wanted:
        return False
    conf.write_text(wanted)
    return True


def server_running(bin_path: Path, data: Path) -> bool:
    """Whether a server runs on the data directory `data` (the cluster, or its standby)."""
    if not (data / "PG_VERSION").exists():
        return False
    result = as_server_user(
        [str(bin_path / "pg_ctl"), "-D", str(data), "status"], capture_output=True
    )
    return result.returncode == 0


def stop_server(bin_path: Path, data: Path, what: str) -> None:
    """pg_ctl stop (fast) of a data directory, if its server runs; `what` names it in the output."""
    if server_running(bin_path, data):
        as_server_user(
            [str(bin_path / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"{what} stopped")
    else:
        print(f"{what} not running")


def is_running(bin_path: Path) -> bool:
    return server_running(bin_path, data_dir())


def start_server(bin_path: Path, data: Path, log: Path, port: int, what: str) -> None:
    """pg_ctl start of a data directory (the cluster, or its standby) on `port`, logging to
    `log`; as root, as the postgres OS user."""
    if port_in_use(port):
        raise ClusterError(f"port {port} is taken by another program")
    log.touch()
    # Statements, roles and staff ids: readable by the server's OS user alone.
    os.chmod(log, 0o600)
    if is_root():
        shutil.chown(log, "postgres", "postgres")
    result = as_server_user(
        [str(bin_path / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
         "-o", f"-p {port}", "start"],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise ClusterError(f"{what} start failed:\n{result.stderr}\n{tail}")


def start(bin_path: Path) -> None:
    start_server(bin_path, data_dir(), log_file(), cluster_port(), "pg_ctl")


def ensure_hba(bin_path: Path) -> None:
    """Bring an existing cluster's pg_hba.conf up to PG_HBA (e.g. the replication line), then
    reload a running server so the change takes effect without a restart."""
    hba = data_dir() / "pg_hba.conf"
    if hba.read_text() == PG_HBA:
        return
    hba.write_text(PG_HBA)
    if is_running(bin_path):
        as_server_user(
            [str(bin_path / "pg_ctl"), "-D", str(data_dir()), "reload"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def stop() -> None:
    stop_server(bindir(), data_dir(), "cluster")


def superuser_dsn(dbname: str = "postgres") -> str:
    values = read_secrets()
    return (
        f"host=127.0.0.1 port={cluster_port()} dbname={dbname} user={SUPERUSER} "
        f"password={values['PG_SUPERUSER_PASSWORD']} sslmode=verify-full "
        f"sslrootcert={ca_file()}"
    )


def superuser_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(superuser_dsn(dbname), autocommit=True)


def ensure_database(dbname: str, values: dict[str, str]) -> None:
    """Login roles, the database owned by clinic_owner, pgaudit, and no PUBLIC rights."""
    from psycopg import sql

    with superuser_connect() as conn:
        for role, secret, options in (
            # No CREATEROLE: roles and memberships are the superuser's (clinic/bootstrap.py).
            ("clinic_owner", "DB_OWNER_PASSWORD", "LOGIN NOINHERIT NOCREATEROLE"),
            ("clinic_web", "DB_WEB_PASSWORD", "LOGIN NOINHERIT"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} WITH {} PASSWORD {}").format(
                    sql.SQL(verb),
                    sql.Identifier(role),
                    sql.SQL(options),
                    sql.Literal(values[secret]),
                )
            )
        # New databases (the test database too) get pgaudit from the template.
        with superuser_connect("template1") as template:
            template.execute("CREATE EXTENSION IF NOT EXISTS pgaudit")
        # The application's logins reach the clinic's databases only (granted one by one).
        for other in ("postgres", "template1"):
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(other)
                )
            )
        create_database(conn, dbname)


def create_database(conn, dbname: str) -> None:
    from psycopg import sql

    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [AUDIT_OWNER]).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(AUDIT_OWNER)))
    # Owned by the audit owner, which no login is or may become: the owner login may neither
    # drop the database nor create a schema in it (clinic/bootstrap.py ensure_database).
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(AUDIT_OWNER)
            )
        )
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
    # The web login connects and nothing more (no TEMP tables); the owner also needs TEMP
    # (analytics' bulk generation).
    conn.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO clinic_owner").format(
            sql.Identifier(dbname)
        )
    )
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO clinic_web").format(sql.Identifier(dbname))
    )
    conn.execute(
        sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM clinic_web").format(sql.Identifier(dbname))
    )
    with superuser_connect(dbname) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pgaudit")
        # The extensions the application uses, made here: creating one (even a trusted one)
        # needs CREATE on the database, which the owner login no longer holds.
        for extension in EXTENSIONS:
            db.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(
                    sql.Identifier(extension)
                )
            )
        db.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        # The schema's owner may drop any table in it: not the owner login (clinic/bootstrap.py),
        # which creates its tables there and passes USAGE on.
        db.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(AUDIT_OWNER)))
        db.execute("GRANT USAGE, CREATE ON SCHEMA public TO clinic_owner WITH GRANT OPTION")
        db.execute("GRANT USAGE ON SCHEMA public TO clinic_web")


def drop_database(dbname: str) -> None:
    from psycopg import sql

    with superuser_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def cluster_id_file() -> Path:
    return cluster_dir() / "cluster-id"


def discard_foreign_cluster(bin_path: Path, values: dict[str, str]) -> None:
    """A cluster left at this place by an earlier checkout of the same path (as root it lives in
    /var/lib/clinic-pg/<path hash>, which outlives the checkout) was made with other secrets:
    its passwords would not match. Stop it and start afresh; its data belonged to that checkout."""
    if not (data_dir() / "PG_VERSION").exists():
        return
    marker = cluster_id_file()
    if marker.exists() and marker.read_text().strip() == values["CLUSTER_ID"]:
        return
    print(f"discarding a cluster left by an earlier checkout in {cluster_dir()}")
    # Its servers first: the cluster, a standby (replica-data) and a pooler, if still running.
    for version_file in cluster_dir().glob("*/PG_VERSION"):
        as_server_user(
            [str(bin_path / "pg_ctl"), "-D", str(version_file.parent), "-m", "immediate", "-w",
             "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    pooler_pid = cluster_dir() / "pgbouncer" / "pgbouncer.pid"
    if pooler_pid.exists():
        try:
            os.kill(int(pooler_pid.read_text().strip()), 15)
        except (OSError, ValueError):
            pass
    for child in cluster_dir().iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def up() -> None:
    values = ensure_secrets()
    bin_path = ensure_server_packages()
    ensure_layout()
    discard_foreign_cluster(bin_path, values)
    if not (data_dir() / "PG_VERSION").exists():
        print(f"initialising the clinic's PostgreSQL cluster in {cluster_dir()}")
        initdb(bin_path, values)
        cluster_id_file().write_text(values["CLUSTER_ID"] + "\n")
    ensure_hba(bin_path)
    settings_changed = write_server_settings(data_dir())
    if settings_changed and is_running(bin_path):
        print("server settings changed: restarting the cluster")
        stop()
    if not is_running(bin_path):
        start(bin_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            ensure_database(DATABASE_NAME, values)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    print(f"cluster up: 127.0.0.1:{cluster_port()} (TLS, pgaudit), database {DATABASE_NAME}")


def psql(dbname: str = DATABASE_NAME) -> None:
    dsn = superuser_dsn(dbname)
    os.execvp("psql", ["psql", dsn])


def run_commands(
    name: str, commands: dict[str, Callable[[list[str]], object]], argv: list[str]
) -> int:
    """The command line of localdb.cluster, localdb.pooler and localdb.replica."""
    command = argv[1] if len(argv) > 1 else "status"
    if command not in commands:
        print(f"usage: python -m localdb.{name} {'|'.join(commands)}", file=sys.stderr)
        return 2
    try:
        commands[command](argv)
    except ClusterError as exc:
        print(f"clinic {name}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    return run_commands("cluster", {
        "up": lambda _argv: up(),
        "stop": lambda _argv: stop(),
        "status": lambda _argv: print("running" if is_running(bindir()) else "stopped"),
        "psql": lambda argv: psql(argv[2] if len(argv) > 2 else DATABASE_NAME),
        "log": lambda _argv: print(log_file()),
    }, argv)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv))
