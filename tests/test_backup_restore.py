"""Backup and restore into a new cluster: encrypted columns still decrypt with the keys, and the
access-log chain still verifies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localdb import dev_secrets
from tests.conftest import TEST_DATABASE
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

# cluster_wide: its second cluster listens on the first free port after this one's, which is
# the checkout's pooler port (localdb/cluster.py cluster_port) (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]
ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def new_cluster(tmp_path_factory):
    """A second, empty cluster (its own data directory and port) with the same app keys."""
    local = tmp_path_factory.mktemp("restore") / "restore-target"
    local.mkdir()
    shutil.copy(dev_secrets.SECRETS_FILE, local / "secrets.env")
    env = {"CLINIC_LOCAL_DIR": str(local)}
    result = subprocess.run(
        [sys.executable, "-m", "localdb.cluster", "up"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    yield env
    subprocess.run(
        [sys.executable, "-m", "localdb.cluster", "stop"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        timeout=120,
    )
    target = (local / "pg").resolve()
    shutil.rmtree(target, ignore_errors=True)


def test_dump_restores_into_a_new_cluster_readable_and_verified(
    staff, client_for, tmp_path, new_cluster
):
    patient = PatientFactory(last_name="Testrestore", ssn="900-55-0001")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    ClinicalRecordFactory(patient=patient, provider=staff["clinician"], notes="fake restore note")
    client = client_for(staff["clinician"])
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    assert client.get(f"/patients/{patient.pk}/visits/").status_code == 200

    dump_file = tmp_path / "clinic.dump"
    result = manage("backup_db", str(dump_file), "--database", TEST_DATABASE)
    assert result.returncode == 0, result.stderr
    assert oct(dump_file.stat().st_mode)[-3:] == "600"
    assert b"Testrestore" not in dump_file.read_bytes()  # ciphertext only

    restored = manage("restore_db", str(dump_file), env=new_cluster)
    assert restored.returncode == 0, restored.stderr
    assert "columns decrypt with the configured keys" in restored.stdout
    assert "access log chain verifies" in restored.stdout
    verified = manage("verify_access_log", env=new_cluster)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The restored cluster really holds the data, and reads it back with the keys.
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='clinic.settings';"
            "django.setup();"
            "from patients.models import PatientIdentity as P;"
            "p=P.objects.using('owner').get();print(p.last_name, p.masked_ssn)",
        ],
        cwd=ROOT,
        env={**os.environ, **new_cluster},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.split() == ["Testrestore", "***-**-0001"], check.stderr


def test_restore_with_the_wrong_key_fails_loudly(staff, tmp_path, new_cluster):
    PatientFactory(last_name="Testwrongkey")
    dump_file = tmp_path / "clinic.dump"
    assert manage("backup_db", str(dump_file), "--database", TEST_DATABASE).returncode == 0
    wrong = "k9:" + "B" * 43 + "="
    restored = manage(
        "restore_db", str(dump_file), env={**new_cluster, "FIELD_ENCRYPTION_KEYS": wrong}
    )
    # Refused for the reason claimed (the stored values name a key the restore does not have),
    # not any failure: the success line about decrypting is never printed.
    assert restored.returncode == 1, restored.stderr[-2000:]
    assert "DecryptionError" in restored.stderr and "unknown key id 'k1'" in restored.stderr
    assert "decrypt with the configured keys" not in restored.stdout
    assert "Testwrongkey" not in restored.stdout + restored.stderr
