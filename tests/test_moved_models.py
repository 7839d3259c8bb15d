"""Models moved between apps (StaffSession and MfaFailures to accounts, Disclosure to privacy)
keep their data: a database in the old layout, holding rows and permissions, migrates to the new
one with nothing lost, no DDL, and the content types (so the permissions) relabelled in place."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connections

from accounts.models import MfaFailures, StaffSession
from localdb import cluster
from patients.models import PatientIdentity
from privacy.models import Disclosure
from tests.conftest import TEST_DATABASE

# cluster_wide: provision_db on a scratch database (the cluster's roles) (tests/cluster_share.py).
pytestmark = pytest.mark.cluster_wide

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = f"{TEST_DATABASE}_moved"
ALIAS = "moved_models"
MOVED = {("accounts", "staffsession"), ("accounts", "mfafailures"), ("privacy", "disclosure")}
# The last migration of the old layout, before anything moved.
OLD_LAYOUT = ("clinic", "0005_disclosure_suspension")
# Every other app with migrations, migrated fully (none depends on the new apps).
OTHER_APPS = [
    "admin", "auth", "axes", "contenttypes", "otp_static", "otp_totp", "sessions",
    "patients", "records", "analytics", "scheduling", "chart", "rights",
]  # fmt: skip


def manage(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "CLINIC_DB_NAME": SCRATCH},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def content_types(conn) -> dict[tuple[str, str], int]:
    rows = conn.execute("SELECT app_label, model, id FROM django_content_type").fetchall()
    return {(label, model): pk for label, model, pk in rows}


@pytest.fixture
def old_layout(django_db_setup, django_db_blocker):
    """A scratch database migrated up to the old layout, reachable as ALIAS."""
    cluster.drop_database(SCRATCH)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, SCRATCH)
    manage("migrate", OLD_LAYOUT[0], OLD_LAYOUT[1], "--database", "owner")
    for app in OTHER_APPS:
        manage("migrate", app, "--database", "owner")
    manage("provision_db")  # as every deploy of the old layout did
    # post_migrate labels content types from today's models; the old code labelled them 'clinic'.
    with cluster.superuser_connect(SCRATCH) as conn:
        for label, model in MOVED:
            conn.execute(
                "UPDATE django_content_type SET app_label = 'clinic' "
                "WHERE app_label = %s AND model = %s",
                [label, model],
            )
    connections.settings[ALIAS] = {**connections.settings["owner"], "NAME": SCRATCH}
    django_db_blocker.unblock()
    try:
        yield
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        django_db_blocker.restore()
        cluster.drop_database(SCRATCH)


def test_moving_models_keeps_rows_tables_and_permissions(old_layout):
    user = User(username="t-moved", password="!")  # noqa: S106  (unusable password)
    user.save(using=ALIAS)
    session = StaffSession(session_key="k" * 40, user=user, user_agent="Test browser")
    session.save(using=ALIAS)
    MfaFailures(user=user, count=3).save(using=ALIAS)
    patient = PatientIdentity(
        first_name="Pat", last_name="Testperson", date_of_birth=dt.date(1980, 1, 2), state="MA"
    )
    patient.save(using=ALIAS)
    disclosure = Disclosure(
        patient=patient,
        recorded_by=user,
        disclosed_on=dt.date(2025, 1, 2),
        recipient="Test recipient",
        description="Test description",
        purpose="Test purpose",
        category="public_health",
    )
    disclosure.save(using=ALIAS)
    with cluster.superuser_connect(SCRATCH) as conn:
        before = content_types(conn)
        old_ids = {moved: before[("clinic", moved[1])] for moved in MOVED}
        # A group holding a permission on each moved model, as an administrator would have set.
        group = Group.objects.using(ALIAS).create(name="Test auditors")
        permissions = Permission.objects.using(ALIAS).filter(content_type_id__in=old_ids.values())
        group.permissions.set(permissions)
        granted = sorted(permissions.values_list("pk", flat=True))
        assert len(granted) == 4 * len(MOVED)  # add, change, delete, view
        user.groups.add(group)
        tables_before = conn.execute(
            "SELECT relname, oid FROM pg_class WHERE relname IN "
            "('clinic_staffsession', 'clinic_mfafailures', 'disclosures', 'disclosures_patient',"
            " 'clinic_staf_user_id_91d090_idx')"
        ).fetchall()
    assert len(tables_before) == 5

    output = manage("migrate", "--database", "owner")
    assert "accounts.0001_initial... OK" in output
    assert "privacy.0001_initial... OK" in output

    with cluster.superuser_connect(SCRATCH) as conn:
        after = content_types(conn)
        tables_after = conn.execute(
            "SELECT relname, oid FROM pg_class WHERE relname IN "
            "('clinic_staffsession', 'clinic_mfafailures', 'disclosures', 'disclosures_patient',"
            " 'clinic_staf_user_id_91d090_idx')"
        ).fetchall()
    # No DDL: the very same tables and indexes (same oids), under the same names.
    assert sorted(tables_after) == sorted(tables_before)
    # Each content type kept its id and now carries the new label; no stale 'clinic' rows.
    for moved, pk in old_ids.items():
        assert after[moved] == pk
        assert ("clinic", moved[1]) not in after
    # Rows and permissions came through.
    assert StaffSession.objects.using(ALIAS).get().user_agent == "Test browser"
    assert MfaFailures.objects.using(ALIAS).get().count == 3
    assert Disclosure.objects.using(ALIAS).get().recipient == "Test recipient"
    assert sorted(Group.objects.using(ALIAS).get().permissions.values_list("pk", flat=True)) == (
        granted
    )
    codenames = set(
        Permission.objects.using(ALIAS)
        .filter(group__user=user)
        .values_list("content_type__app_label", "codename")
    )
    assert ("privacy", "view_disclosure") in codenames
    assert ("accounts", "change_staffsession") in codenames
    assert ("accounts", "delete_mfafailures") in codenames
    # And nothing is left for makemigrations or provisioning to do.
    assert "No changes detected" in manage("makemigrations", "--check", "--dry-run")
    assert "already up to date" in manage("provision_db")
