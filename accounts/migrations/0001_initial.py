"""StaffSession and MfaFailures move here from `clinic`: state only, the tables keep their names
(no DDL: `sqlmigrate accounts 0001` prints none), and their content types are relabelled so the
permissions granted on them survive."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from clinic.moved_models import relabel_content_types

forwards, backwards = relabel_content_types(["MfaFailures", "StaffSession"], "clinic", "accounts")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clinic", "0005_disclosure_suspension"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MfaFailures",
                    fields=[
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="mfa_failures", serialize=False, to=settings.AUTH_USER_MODEL)),
                        ("count", models.PositiveIntegerField(default=0)),
                        ("last_failure_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "verbose_name_plural": "MFA failures",
                        "db_table": "clinic_mfafailures",
                    },
                ),
                migrations.CreateModel(
                    name="StaffSession",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("session_key", models.CharField(max_length=40, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_seen_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=100)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="staff_sessions", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "clinic_staffsession",
                        "indexes": [models.Index(fields=["user", "last_seen_at"], name="clinic_staf_user_id_91d090_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
