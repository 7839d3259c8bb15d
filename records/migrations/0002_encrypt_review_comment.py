"""Break-the-glass review comments become an encrypted field; comments written before are
encrypted in place (same AES-256-GCM format and table.column binding as every encrypted field)."""

import clinic.encryption
from django.db import migrations

AAD = "break_glass_grants.review_comment"


def encrypt_existing(apps, schema_editor):
    from clinic.encryption import DecryptionError, decrypt_value, encrypt_value

    def is_encrypted(text: str) -> bool:
        try:
            decrypt_value(text, AAD)
        except DecryptionError:
            return False
        return True

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT grant_id, review_comment FROM break_glass_grants")
        rows = [(pk, text) for pk, text in cursor.fetchall() if not is_encrypted(text)]
        for pk, text in rows:  # "" too: the field stores every value, empty or not, encrypted
            cursor.execute(
                "UPDATE break_glass_grants SET review_comment = %s WHERE grant_id = %s",
                [encrypt_value(text, AAD), pk],
            )


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="breakglassgrant",
            name="review_comment",
            field=clinic.encryption.EncryptedTextField(blank=True, max_length=2000),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
