"""A scratch database on the embedded cluster for the long-running scripts under scripts/.

migrate + provision_db + the staff groups, then whatever users the script needs (created in a
`manage.py shell` subprocess, so the script's own process never sets Django up on it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localdb import cluster

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scratch-clinic-pass-2026"

USERS_SNIPPET = """
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from clinic.management.commands.seed_demo import ensure_groups
groups = ensure_groups()
hashed = make_password({password!r})
for username, group, active, device in {users!r}:
    user, _ = User.objects.db_manager("owner").update_or_create(
        username=username, defaults={{"password": hashed, "is_active": active}})
    user.groups.set([groups[group]])
    if device and not TOTPDevice.objects.using("owner").filter(user=user).exists():
        TOTPDevice(user=user, name="Scratch", confirmed=True).save(using="owner")
"""


def env_for(db_name: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CLINIC_DB_NAME": db_name,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        **extra,
    }


def manage(db_name: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env_for(db_name), check=True, **kwargs
    )


def prepare(db_name: str, users: list[tuple[str, str, bool, bool]]) -> None:
    """A fresh database `db_name` with `users`: (username, group, is_active, has_totp)."""
    cluster.drop_database(db_name)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, db_name)
    manage(db_name, "migrate", "--database", "owner", "--noinput", stdout=subprocess.DEVNULL)
    manage(db_name, "provision_db", stdout=subprocess.DEVNULL)
    add_users(db_name, users)


def add_users(db_name: str, users: list[tuple[str, str, bool, bool]]) -> None:
    snippet = USERS_SNIPPET.format(password=PASSWORD, users=users)
    manage(db_name, "shell", "-c", snippet, stdout=subprocess.DEVNULL)


def reset_lockouts(db_name: str) -> None:
    with cluster.superuser_connect(db_name) as conn:
        for table in (
            "axes_accessattemptexpiration",
            "axes_accessattempt",
            "axes_accessfailurelog",
            "clinic_mfafailures",
        ):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608  (fixed names)
