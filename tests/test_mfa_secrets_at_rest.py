"""Second-factor secrets at rest (accounts/otp_secrets.py): no table or backup holds a TOTP secret
or a recovery code that signs anyone in. TOTP keys are encrypted with the field keys, recovery
codes stored as keyed hashes; signing in with either still works, a recovery code once; the
database refuses the plaintext forms even from the owner; accounts 0010 converted the devices
that existed before. Codes and keys here are generated per test; none is ever printed."""

from __future__ import annotations

import re
from base64 import b32encode

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.otp_secrets import RECOVERY_CODE_DIGEST, recovery_code_digest
from clinic.db_checks import CIPHERTEXT
from clinic.encryption import decrypt_value
from tests.conftest import current_code, give_totp
from tests.test_signin import sign_in

# cluster_wide: provision_db (the cluster's roles) (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]
VERIFY = "/account/mfa/verify/"
KEY_AAD = "otp_totp_totpdevice.key"
MIGRATION = ("accounts", "0010_otp_secrets_encrypted")
FAKE_CODE = "fakecod2"  # shaped like django-otp's codes (8 base32 characters), used nowhere


@pytest.fixture(autouse=True)
def no_device_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def owner_rows(query: str, params: list | None = None) -> list[tuple]:
    with connections["owner"].cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall()


def stored_key(device) -> str:
    return owner_rows("SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk])[0][0]


def stored_tokens(user) -> list[str]:
    return [
        token
        for (token,) in owner_rows(
            "SELECT t.token FROM otp_static_statictoken t JOIN otp_static_staticdevice d "
            "ON d.id = t.device_id WHERE d.user_id = %s",
            [user.pk],
        )
    ]


def fresh_recovery_codes(client) -> list[str]:
    """The codes the recovery-codes page shows, once (the user is signed in fully)."""
    response = client.post("/account/mfa/recovery-codes/")
    codes = [code.decode() for code in re.findall(rb"<li>([a-z2-7]{8})</li>", response.content)]
    assert len(codes) == 10
    return codes


def signs_in_with(client, username: str, code: str) -> bool:
    client.post("/account/sign-out/")
    sign_in(client, username)
    return client.post(VERIFY, {"otp_token": code}).status_code == 302


def test_the_totp_secret_is_stored_encrypted_never_as_the_key(staff):
    device = give_totp(staff["admin"])
    stored = stored_key(device)
    secret_forms = [device.key, device.key.upper(), b32encode(device.bin_key).decode()]
    assert re.match(CIPHERTEXT, stored)
    assert not any(form in stored for form in secret_forms)
    assert decrypt_value(stored, KEY_AAD) == device.key
    assert owner_rows("SELECT count(*) FROM otp_totp_totpdevice WHERE key = %s", [device.key]) == [
        (0,)
    ]


def test_signing_in_with_a_totp_code_works_from_the_encrypted_key(client, staff):
    device = give_totp(staff["clinician"])
    sign_in(client, "t-clinician")
    assert client.post(VERIFY, {"otp_token": current_code(device)}).status_code == 302
    assert client.get("/").status_code == 200


def test_recovery_codes_are_stored_as_keyed_hashes_never_the_codes(client_for, staff):
    codes = fresh_recovery_codes(client_for(staff["privacy"]))
    stored = stored_tokens(staff["privacy"])
    assert len(stored) == 10
    assert all(re.match(RECOVERY_CODE_DIGEST, token) for token in stored)
    assert not any(code in token for code in codes for token in stored)
    assert sorted(stored) == sorted(recovery_code_digest(code) for code in codes)


def test_a_recovery_code_signs_in_once_and_its_stored_hash_signs_in_never(client_for, staff):
    client = client_for(staff["privacy"])
    codes = fresh_recovery_codes(client)
    stolen = stored_tokens(staff["privacy"])[0]  # what a backup holds
    # Past the page's form (a hash is too long for it), straight to django-otp's check.
    device = StaticDevice.objects.using("owner").get(user=staff["privacy"])
    assert not device.verify_token(stolen)
    assert signs_in_with(client, "t-privacy", f" {codes[0][:4].upper()} {codes[0][4:]} ")
    assert len(stored_tokens(staff["privacy"])) == 9
    assert not signs_in_with(client, "t-privacy", codes[0])
    assert signs_in_with(client, "t-privacy", codes[1])


def test_the_database_refuses_a_plaintext_totp_key_even_from_the_owner(staff):
    device = give_totp(staff["admin"])
    with pytest.raises(IntegrityError, match="otp_totp_totpdevice_key_form"):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(
                "UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s", [device.key, device.pk]
            )
    assert stored_key(device) != device.key


def test_the_database_refuses_a_plaintext_recovery_code_even_from_the_owner(staff):
    device = StaticDevice.objects.using("owner").create(user=staff["admin"], name="Recovery")
    with pytest.raises(IntegrityError, match="otp_static_statictoken_token_form"):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO otp_static_statictoken (device_id, token) VALUES (%s, %s)",
                [device.pk, FAKE_CODE],
            )
    assert not StaticToken.objects.using("owner").exists()


def migrate_to(*targets: tuple[str, str]) -> None:
    connection = connections["owner"]
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())
    connection.close()


def test_the_migration_encrypts_existing_totp_keys_and_hashes_existing_codes(client, staff):
    """Back before accounts 0010 (devices then hold plaintext), a plaintext code added as
    django-otp stored it, forward again: the same authenticator and code still sign in."""
    device = give_totp(staff["clinician"])
    recovery = StaticDevice.objects.using("owner").create(user=staff["clinician"], name="Codes")
    graph = MigrationExecutor(connections["owner"]).loader.graph
    before = next(p for p in graph.node_map[MIGRATION].parents if p.key[0] == "accounts").key
    try:
        migrate_to(before)
        # Going back decrypted the key: authenticators keep working on the old code.
        assert stored_key(device) == device.key
        with connections["owner"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO otp_static_statictoken (device_id, token) VALUES (%s, %s)",
                [recovery.pk, FAKE_CODE],
            )
        migrate_to()
    finally:
        migrate_to()
        call_command("provision_db", verbosity=0)  # the CHECKs that going back dropped
    stored = stored_key(device)
    assert re.match(CIPHERTEXT, stored) and device.key not in stored
    assert decrypt_value(stored, KEY_AAD) == device.key
    assert stored_tokens(staff["clinician"]) == [recovery_code_digest(FAKE_CODE)]
    assert signs_in_with(client, "t-clinician", current_code(device))
    assert signs_in_with(client, "t-clinician", FAKE_CODE)
    assert not signs_in_with(client, "t-clinician", FAKE_CODE)
