"""Disclosure moves here from `clinic`: state only, the `disclosures` table and its index keep
their names (no DDL: `sqlmigrate privacy 0001` prints none), and its content type is relabelled
so the permissions granted on it survive."""

import clinic.encryption
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

from clinic.moved_models import relabel_content_types

forwards, backwards = relabel_content_types(["Disclosure"], "clinic", "privacy")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('clinic', '0006_staff_sessions_moved_to_accounts'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('patients', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Disclosure',
                    fields=[
                        ('disclosure_id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('disclosed_on', models.DateField()),
                        ('recipient', clinic.encryption.EncryptedCharField(max_length=300)),
                        ('recipient_address', clinic.encryption.EncryptedTextField(blank=True, max_length=500)),
                        ('description', clinic.encryption.EncryptedTextField(max_length=2000, verbose_name='PHI disclosed')),
                        ('purpose', clinic.encryption.EncryptedTextField(max_length=2000)),
                        ('category', models.CharField(choices=[('required_by_law', 'Required by law — 164.512(a)'), ('public_health', 'Public health activities — 164.512(b)'), ('abuse_neglect', 'Victims of abuse, neglect or domestic violence — 164.512(c)'), ('health_oversight', 'Health oversight — 164.512(d)'), ('judicial', 'Judicial or administrative proceedings — 164.512(e)'), ('law_enforcement', 'Law enforcement purposes — 164.512(f)'), ('decedents', 'Coroners, medical examiners, funeral directors — 164.512(g)'), ('organ_donation', 'Organ, eye or tissue donation — 164.512(h)'), ('research', 'Research without authorization — 164.512(i)'), ('serious_threat', 'Averting a serious threat to health or safety — 164.512(j)'), ('workers_compensation', "Workers' compensation — 164.512(l)"), ('other', 'Other disclosure not excluded from the accounting'), ('treatment_payment_operations', 'Treatment, payment or health care operations (excluded)'), ('to_individual', 'To the individual (excluded)'), ('incidental', 'Incident to a permitted use or disclosure (excluded)'), ('authorization', "Pursuant to the individual's authorization (excluded)"), ('facility_directory', 'Facility directory or persons involved in care (excluded)'), ('national_security', 'National security or intelligence (excluded)'), ('correctional_custody', 'Correctional institution or law enforcement custody (excluded)'), ('limited_data_set', 'Part of a limited data set (excluded)')], max_length=40)),
                        ('recorded_at', models.DateTimeField(auto_now_add=True)),
                        ('suspended_until', models.DateField(blank=True, null=True)),
                        ('suspension_kind', models.CharField(blank=True, choices=[('written', 'Written statement'), ('oral', 'Oral statement (at most 30 days)')], max_length=10)),
                        ('suspension_stated_on', models.DateField(blank=True, null=True)),
                        ('suspension_statement', clinic.encryption.EncryptedTextField(blank=True, max_length=2000)),
                        ('patient', models.ForeignKey(db_column='patient_id', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patientidentity')),
                        ('recorded_by', models.ForeignKey(db_column='recorded_by_id', on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('suspension_recorded_by', models.ForeignKey(blank=True, db_column='suspension_recorded_by_id', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'disclosures',
                        'indexes': [models.Index(fields=['patient', 'disclosed_on'], name='disclosures_patient')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
