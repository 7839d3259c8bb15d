"""The care team's free-text reason becomes an encrypted field; reasons written before are
encrypted in place (same format and table.column binding as every encrypted field)."""

from django.db import migrations

import clinic.encryption


def encrypt_existing(apps, schema_editor):
    from clinic.encryption import encrypt_column_in_place

    with schema_editor.connection.cursor() as cursor:
        encrypt_column_in_place(cursor, "care_team", "id", "reason")


class Migration(migrations.Migration):
    dependencies = [("records", "0003_care_team_panel_index")]

    operations = [
        migrations.AlterField(
            model_name="careteammember",
            name="reason",
            field=clinic.encryption.EncryptedTextField(blank=True, max_length=200),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
