"""auth_user.password holds the encrypted form of a hash (accounts/passwords.py), about 200
characters for an Argon2 hash: wider than Django's 128. Django's model state keeps 128, which
limits nothing on save; going back fits again once 0004 has been reversed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_session_key_digests"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE auth_user ALTER COLUMN password TYPE varchar(512)",
            reverse_sql="ALTER TABLE auth_user ALTER COLUMN password TYPE varchar(128)",
        )
    ]
