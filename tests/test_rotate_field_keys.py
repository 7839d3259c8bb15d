"""Key rotation end to end: rows written under an old key are re-encrypted with the new one.

Keys here are generated per test run and never used anywhere else; all data is fake.
"""

from __future__ import annotations

import base64
import os
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import passwords
from clinic.encryption import DecryptionError, decrypt_value
from patients.management.commands import rotate_field_keys
from patients.models import PatientIdentity
from records.models import BreakGlassGrant, ClinicalRecord
from tests.conftest import current_code, give_totp
from tests.factories import (
    PASSWORD,
    BreakGlassGrantFactory,
    ClinicalRecordFactory,
    PatientFactory,
    StaffFactory,
    password_hash,
)
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")


def new_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW, STRANGER = new_key("old"), new_key("new"), new_key("stranger")
OLD_ONLY = override_settings(FIELD_ENCRYPTION_KEYS=[OLD])
BOTH = override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD])
NEW_ONLY = override_settings(FIELD_ENCRYPTION_KEYS=[NEW])
WRONG_KEY = override_settings(FIELD_ENCRYPTION_KEYS=[STRANGER])


def raw_encrypted_values() -> list[tuple[str, str]]:
    """(aad, `v1:` value) of every encrypted column of every row, read without decrypting (a
    password's without its `argon2_enc$`)."""
    values = []
    with connections["owner"].cursor() as cursor:
        for table in rotate_field_keys.encrypted_tables():
            columns = ", ".join(f'"{c}"' for c in table.columns)
            cursor.execute(f'SELECT {columns} FROM "{table.table}"')
            for row in cursor.fetchall():
                for aad, value in zip(table.aads, row, strict=True):
                    if value is not None and value.startswith(table.prefix):
                        values.append((aad, value[len(table.prefix) :]))
    return values


def key_ids() -> set[str]:
    return {value.split(":")[1] for _aad, value in raw_encrypted_values()}


def rotate(**options) -> str:
    out = StringIO()
    call_command("rotate_field_keys", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def staff(staff):
    """The standing personas, their passwords too under the old key, as all the data here."""
    with OLD_ONLY:
        for user in staff.values():
            user.password = password_hash(PASSWORD)
            user.save(using="owner", update_fields=["password"])
    return staff


@pytest.fixture
def old_data(staff):
    """Three patients, a visit note and a break-the-glass reason, all under the old key."""
    with OLD_ONLY:
        patients = [
            PatientFactory(ssn=f"900-00-000{n}", first_name=f"Rotation{n}") for n in range(1, 4)
        ]
        ClinicalRecordFactory(
            patient=patients[0],
            provider=staff["clinician"],
            diagnosis_code="J06.9",
            notes="Fake note for a rotation test.",
            visit_date=date(2024, 1, 2),
        )
        BreakGlassGrantFactory(
            staff=staff["clinician2"],
            patient=patients[1],
            reason_category="other",
            reason_text="Fake reason for a rotation test.",
            hours=1,
        )
    return patients


def test_every_model_with_encrypted_fields_is_discovered():
    tables = {t.table: t.columns for t in rotate_field_keys.encrypted_tables()}
    assert tables["patient_identities"] == (
        "first_name",
        "last_name",
        "date_of_birth",
        "ssn",
        "address",
        "phone",
        "email",
        "mrn",
        "gender_identity",
    )
    assert tables["clinical_records"] == ("notes",)
    assert tables["chart_allergies"] == ("substance", "reaction")
    assert tables["chart_problems"] == ("note",)
    assert tables["chart_medications"] == ("name", "dose", "frequency")
    assert tables["break_glass_grants"] == ("reason_text", "review_comment")
    assert tables["otp_totp_totpdevice"] == ("key",)
    assert tables["auth_user"] == ("password",)


def stored_passwords() -> dict[str, str]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT username, password FROM auth_user")
        return dict(cursor.fetchall())


def test_password_hashes_move_to_the_new_key_and_still_sign_in(old_data):
    StaffFactory(username="t-unusable", password="!fake-unusable-marker")
    before = stored_passwords()
    with BOTH:
        output = rotate()
    assert "auth_user (password): 7 row(s) on an old key" in output
    after = stored_passwords()
    assert after.pop("t-unusable") == "!fake-unusable-marker"
    assert {passwords.key_id(value) for value in after.values()} == {"new"}
    with BOTH:
        # Only the key changed: the hash inside is the same.
        assert all(passwords.unwrap(after[u]) == passwords.unwrap(before[u]) for u in after)
    with NEW_ONLY:
        hasher = passwords.EncryptedArgon2PasswordHasher()
        assert not any(hasher.must_update(value) for value in after.values())
        assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 302


def test_rotation_moves_every_value_to_the_new_key_and_old_key_can_then_go(old_data):
    assert key_ids() == {"old"}
    with BOTH:
        output = rotate(batch_size=2)
    assert "patient_identities: 3/3 rows" in output
    assert "rows/s" in output
    assert key_ids() == {"new"}
    with NEW_ONLY:
        for aad, value in raw_encrypted_values():
            decrypt_value(value, aad)
        patient = PatientIdentity.objects.using("owner").get(pk=old_data[0].pk)
        assert (patient.first_name, patient.ssn) == ("Rotation1", "900-00-0001")
        note = ClinicalRecord.objects.using("owner").get().notes
        assert note == "Fake note for a rotation test."
        reason = BreakGlassGrant.objects.using("owner").get().reason_text
        assert reason == "Fake reason for a rotation test."
        assert PatientIdentity.objects.using("owner").by_ssn("900000002").get() == old_data[1]


def test_rotation_covers_totp_secrets_and_the_authenticator_still_signs_in(client, staff):
    with OLD_ONLY:
        device = give_totp(staff["privacy"])
    assert key_ids() == {"old"}
    with BOTH:
        output = rotate()
    assert "otp_totp_totpdevice (key): 1 row(s) on an old key" in output
    assert key_ids() == {"new"}
    with NEW_ONLY:
        rotated = TOTPDevice.objects.using("owner").get(pk=device.pk)
        assert rotated.key == device.key
        sign_in(client, "t-privacy")
        response = client.post("/account/mfa/verify/", {"otp_token": current_code(rotated)})
        assert response.status_code == 302


def test_rerun_skips_rows_already_on_the_current_key(old_data):
    with BOTH:
        rotate()
        before = raw_encrypted_values()
        output = rotate()
    assert "patient_identities (" in output and "0 row(s) on an old key" in output
    assert raw_encrypted_values() == before


def test_dry_run_counts_and_changes_nothing(old_data):
    before = raw_encrypted_values()
    with BOTH:
        output = rotate(dry_run=True)
    assert "patient_identities (" in output and ": 3 row(s) on an old key" in output
    assert raw_encrypted_values() == before


def test_an_interrupted_rotation_leaves_every_row_readable_and_resumes(old_data, monkeypatch):
    real = rotate_field_keys.encrypt_value
    calls = {"n": 0}

    def interrupt_in_second_batch(plaintext, aad):
        calls["n"] += 1
        # Tables go in name order: seven staff passwords, one grant reason, one note, then
        # patient rows of 9 values each (ssn and gender identity included); die inside the
        # second patient's batch.
        if calls["n"] > 7 + 1 + 1 + 9 + 1:
            raise KeyboardInterrupt
        return real(plaintext, aad)

    monkeypatch.setattr(rotate_field_keys, "encrypt_value", interrupt_in_second_batch)
    with BOTH, pytest.raises(KeyboardInterrupt):
        rotate(batch_size=1)
    assert key_ids() == {"old", "new"}
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT first_name, last_name, ssn, mrn FROM patient_identities")
        rows = cursor.fetchall()
    # Each row is entirely on one key: a batch either committed or rolled back.
    row_keys = sorted("".join({v.split(":")[1] for v in row}) for row in rows)
    assert row_keys == ["new", "old", "old"]
    with BOTH:
        names = sorted(p.first_name for p in PatientIdentity.objects.using("owner").all())
        assert names == ["Rotation1", "Rotation2", "Rotation3"]
        monkeypatch.setattr(rotate_field_keys, "encrypt_value", real)
        rotate()
    assert key_ids() == {"new"}


def test_a_value_under_an_unknown_key_stops_the_command_loudly(old_data):
    before = raw_encrypted_values()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]), pytest.raises(CommandError) as error:
        rotate()
    assert "cannot be decrypted" in str(error.value)
    assert "Rotation" not in str(error.value) and "900-" not in str(error.value)
    assert raw_encrypted_values() == before


def test_a_wrong_key_fails_loudly_and_never_returns_ciphertext(old_data):
    with WRONG_KEY, pytest.raises(DecryptionError) as error:
        PatientIdentity.objects.using("owner").get(pk=old_data[0].pk)
    assert "v1:" not in str(error.value)
    assert "Rotation" not in str(error.value)


def test_a_page_that_cannot_decrypt_shows_the_generic_error_page(client_for, staff, old_data):
    client = client_for(staff["frontdesk"])
    client.raise_request_exception = False
    with WRONG_KEY:
        response = client.get(reverse("patients:detail", kwargs={"patient_id": old_data[0].pk}))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "v1:" not in body and "old:" not in body
    assert "Traceback" not in body and "DecryptionError" not in body
    assert "Rotation" not in body


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError):
        rotate(batch_size=0)


def test_a_rotation_killed_with_sigkill_leaves_every_row_readable_and_a_rerun_finishes(staff):
    """The real thing, in a second process: SIGKILL (no cleanup, no exception handler) while
    batches commit; every row is then readable and entirely on one key, and a re-run ends the
    job. scripts/reliability.py does the same at 100,000 patients."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    count = 600
    with OLD_ONLY:
        for n in range(count):
            PatientFactory(ssn=f"900-{n // 10000:02d}-{n % 10000:04d}", first_name=f"Killtest{n}")
    env = {
        **os.environ,
        "FIELD_ENCRYPTION_KEYS": f"{NEW},{OLD}",
        "CLINIC_DB_NAME": connections["owner"].settings_dict["NAME"],
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_field_keys", "--batch-size", "1"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def rotated() -> int:
        with connections["owner"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM patient_identities WHERE ssn LIKE 'v1:new:%%'")
            return int(cursor.fetchone()[0])

    deadline = time.monotonic() + 120
    while rotated() < count // 5 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # Frozen first (SIGSTOP), so the kill cannot lose a race with the job's end on a loaded
    # machine: it is still running, part-way, at the moment it is killed.
    process.send_signal(signal.SIGSTOP)
    assert process.poll() is None, "the rotation ended before it could be stopped"
    assert 0 < rotated() < count
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert 0 < rotated() < count
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT first_name, last_name, ssn, mrn FROM patient_identities")
        rows = cursor.fetchall()
    assert all(len({value.split(":")[1] for value in row}) == 1 for row in rows)
    with BOTH:
        names = {p.first_name for p in PatientIdentity.objects.using("owner").all()}
        assert {f"Killtest{n}" for n in range(count)} <= names
        rotate()
    assert key_ids() == {"new"}
