"""django-otp's secrets at rest (accounts/otp_secrets.py): the TOTP keys already stored are
encrypted with the field keys, the recovery codes replaced by their keyed hashes, and both
columns widened for those forms (`key` to text, like every encrypted column; `token` to the 32
hex digits of the hash). Runs on the owner connection, outside the row-level policies.

Going back decrypts the TOTP keys (authenticators keep working) but cannot bring the recovery
codes back from their hashes: it deletes them, and staff generate new ones. It first drops the
CHECKs that provisioning puts on both columns, which would refuse the old forms."""

from django.db import migrations

from clinic.encryption import decrypt_value, encrypt_column_in_place

TOTP, STATIC = "otp_totp_totpdevice", "otp_static_statictoken"
KEY_AAD = f"{TOTP}.key"
WIDEN = [
    f"ALTER TABLE {TOTP} ALTER COLUMN key TYPE text",
    f"ALTER TABLE {STATIC} ALTER COLUMN token TYPE varchar(32)",
]
NARROW = [
    f"ALTER TABLE {TOTP} ALTER COLUMN key TYPE varchar(80)",
    f"ALTER TABLE {STATIC} ALTER COLUMN token TYPE varchar(16)",
]
DROP_CHECKS = [
    f"ALTER TABLE {TOTP} DROP CONSTRAINT IF EXISTS {TOTP}_key_form",
    f"ALTER TABLE {STATIC} DROP CONSTRAINT IF EXISTS {STATIC}_token_form",
]
DIGEST = "^[0-9a-f]{32}$"


def to_stored_forms(apps, schema_editor):
    from accounts.otp_secrets import recovery_code_digest

    with schema_editor.connection.cursor() as cursor:
        encrypt_column_in_place(cursor, TOTP, "id", "key")
        cursor.execute(f"SELECT id, token FROM {STATIC} WHERE token !~ %s", [DIGEST])  # noqa: S608
        codes = cursor.fetchall()
        cursor.executemany(
            f"UPDATE {STATIC} SET token = %s WHERE id = %s",  # noqa: S608
            [(recovery_code_digest(code), pk) for pk, code in codes],
        )


def to_plaintext_keys(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, key FROM {TOTP} WHERE key LIKE %s", ["v1:%"])  # noqa: S608
        for pk, stored in cursor.fetchall():
            # A value the keys cannot read stops the migration (DecryptionError names no value).
            cursor.execute(
                f"UPDATE {TOTP} SET key = %s WHERE id = %s",  # noqa: S608
                [decrypt_value(stored, KEY_AAD), pk],
            )
        cursor.execute(f"DELETE FROM {STATIC} WHERE token ~ %s", [DIGEST])  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_encrypt_password_hashes"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunSQL(WIDEN, reverse_sql=NARROW),
        migrations.RunPython(to_stored_forms, reverse_code=to_plaintext_keys),
        migrations.RunSQL(migrations.RunSQL.noop, reverse_sql=DROP_CHECKS),
    ]
