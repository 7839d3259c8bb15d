"""StaffSession and MfaFailures now belong to `accounts` (accounts/0001): state only, no DDL."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("clinic", "0005_disclosure_suspension"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="MfaFailures"),
                migrations.DeleteModel(name="StaffSession"),
            ],
            database_operations=[],
        ),
    ]
