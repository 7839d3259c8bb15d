"""The unique constraint on access_log.hash is dropped by the bootstrap, as the log's owner
(clinic/access_log/checkpoint.py, REDUNDANT_CONSTRAINTS_SQL): the owner login that applies
Django's migrations does not own the log. This migration records it in Django's state only."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0008_access_log_patient_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accessevent",
                    name="hash",
                    field=models.CharField(max_length=64),
                )
            ],
            database_operations=[],
        )
    ]
