"""Opening the MFA set-up page used to create an unconfirmed authenticator row at once (issue 16,
item 18); the pending key now lives encrypted in the session until a code confirms it
(accounts/mfa.py). The rows left by earlier visits are removed. Runs on the owner connection.
Nothing to undo: an unconfirmed row never signed anyone in."""

from django.db import migrations


def remove_unconfirmed(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM otp_totp_totpdevice WHERE NOT confirmed")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_otp_secrets_encrypted")]

    operations = [migrations.RunPython(remove_unconfirmed, migrations.RunPython.noop)]
