"""Every stored password hash is encrypted with the field keys (accounts/passwords.py): the
existing hash itself is sealed, so nobody is signed out or needs a new password, and Django
re-hashes it with the current Argon2 parameters at the user's next sign-in. Unusable passwords
(`!...`) stay as they are; an empty one, which no hasher verifies, becomes unusable.

Going back opens them again; the database's check on the column (accounts/db_checks.py, added
by provisioning) is dropped first, and provisioning adds it back."""

from django.db import migrations

BATCH = 500


def _rewrite(schema_editor, change) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, password FROM auth_user ORDER BY id FOR UPDATE")
        rows = cursor.fetchall()
        updates = [[new, pk] for pk, old in rows if (new := change(old)) != old]
        for start in range(0, len(updates), BATCH):
            cursor.executemany(
                "UPDATE auth_user SET password = %s WHERE id = %s", updates[start : start + BATCH]
            )


def encrypt_hashes(apps, schema_editor) -> None:
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password

    from accounts.passwords import is_encrypted, wrap

    def change(stored: str) -> str:
        if stored.startswith(UNUSABLE_PASSWORD_PREFIX) or is_encrypted(stored):
            return stored
        return wrap(stored) if stored else make_password(None)

    _rewrite(schema_editor, change)


def decrypt_hashes(apps, schema_editor) -> None:
    from accounts.passwords import is_encrypted, unwrap

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auth_user DROP CONSTRAINT IF EXISTS auth_user_password_form")
    _rewrite(schema_editor, lambda stored: unwrap(stored) if is_encrypted(stored) else stored)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_password_column_width")]

    operations = [migrations.RunPython(encrypt_hashes, decrypt_hashes)]
