"""The ICD-10-CM code table; provisioning fills it from the installed code set."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("records", "0004_encrypt_care_team_reason")]

    operations = [
        migrations.CreateModel(
            name="Icd10Code",
            fields=[("code", models.CharField(max_length=8, primary_key=True, serialize=False))],
            options={"db_table": "icd10_cm_codes"},
        ),
    ]
