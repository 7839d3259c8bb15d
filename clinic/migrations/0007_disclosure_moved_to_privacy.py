"""Disclosure now belongs to `privacy` (privacy/0001): state only, no DDL."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("clinic", "0006_staff_sessions_moved_to_accounts"),
        ("privacy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Disclosure")],
            database_operations=[],
        ),
    ]
