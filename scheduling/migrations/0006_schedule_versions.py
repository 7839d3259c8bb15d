"""A per-clinician schedule version, and the version each booking was checked against
(scheduling/db_schedule_versions.py). Database machinery only: no Django model reads or writes
either, so no web role ever sends them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0005_appointment_longest")]

    operations = [
        migrations.RunSQL(
            sql=[
                "CREATE TABLE clinician_schedule_versions ("
                " clinician_id integer PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE,"
                " version bigint NOT NULL CHECK (version > 0))",
                "ALTER TABLE appointments ADD COLUMN schedule_version bigint",
            ],
            reverse_sql=[
                "ALTER TABLE appointments DROP COLUMN schedule_version",
                "DROP TABLE clinician_schedule_versions",
            ],
        ),
    ]
