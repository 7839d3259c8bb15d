"""The one-column index on access_log.patient_id is dropped by the bootstrap, as the log's owner
(clinic/access_log/checkpoint.py, REDUNDANT_INDEXES_SQL): the owner login that applies Django's
migrations does not own the log. This migration records it in Django's state only."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0007_disclosure_moved_to_privacy")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accessevent",
                    name="patient_id",
                    field=models.UUIDField(null=True),
                )
            ],
            database_operations=[],
        )
    ]
