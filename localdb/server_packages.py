"""The PostgreSQL server binaries and pgaudit the embedded cluster runs on: found, or installed
when root on Debian (localdb/cluster.py, localdb/pooler.py), and run as the postgres OS user
when root (initdb and pg_ctl refuse root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class ClusterError(RuntimeError):
    pass


def is_root() -> bool:
    return os.geteuid() == 0


def bindir() -> Path:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    raise ClusterError(
        "PostgreSQL server binaries not found. Install them, e.g.\n"
        "  sudo apt-get install -y postgresql postgresql-15-pgaudit"
    )


def server_major(bin_path: Path) -> str:
    out = subprocess.run(
        [str(bin_path / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[-1].split(".")[0]


def ensure_server_packages() -> Path:
    """Find the server and pgaudit; install them when root on Debian, else say how."""
    try:
        bin_path = bindir()
        major = server_major(bin_path)
    except ClusterError:
        if not (is_root() and shutil.which("apt-get")):
            raise
        apt_install(["postgresql"])
        bin_path = bindir()
        major = server_major(bin_path)
    libdir = (
        subprocess.run(
            [
                str(bin_path / "pg_config") if (bin_path / "pg_config").exists() else "pg_config",
                "--pkglibdir",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        or f"/usr/lib/postgresql/{major}/lib"
    )
    if (
        not Path(libdir, "pgaudit.so").exists()
        and not Path(f"/usr/lib/postgresql/{major}/lib/pgaudit.so").exists()
    ):
        package = f"postgresql-{major}-pgaudit"
        if is_root() and shutil.which("apt-get"):
            apt_install([package])
        else:
            raise ClusterError(
                f"pgaudit is missing. Install it:\n  sudo apt-get install -y {package}"
            )
    return bin_path


def apt_install(packages: list[str]) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", *packages], check=True, env=env)


def as_server_user(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a server command; as root, as the postgres OS user (initdb/pg_ctl refuse root)."""
    if is_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, **kwargs)
