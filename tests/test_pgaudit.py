"""pgaudit records every statement without the values: parameters are bound server-side.

psycopg 3 binds client-side by default, writing values into the SQL text, and pgaudit then logs
them even with pgaudit.log_parameter = off. The control test shows that this check can fail.
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.urls import reverse

from localdb import cluster
from tests.conftest import TEST_DATABASE, server_log_since, server_log_size
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

# cluster_wide: the server log (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]


def wait_for(text: str, offset: int) -> str:
    deadline = time.monotonic() + 5
    while True:
        log = server_log_since(offset)
        if text in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def test_orm_write_is_audited_without_its_value():
    sentinel = f"SENTINEL-{uuid.uuid4().hex}"
    offset = server_log_size()
    Group.objects.using("owner").create(name=sentinel)
    log = wait_for('INSERT INTO "auth_group"', offset)
    audit = [line for line in log.splitlines() if "AUDIT: SESSION" in line and "auth_group" in line]
    assert any("WRITE,INSERT" in line for line in audit), log[-2000:]
    assert sentinel not in log


def test_client_side_binding_would_leak_the_value_control():
    sentinel = f"CONTROL-{uuid.uuid4().hex}"
    offset = server_log_size()
    settings = connections["owner"].settings_dict
    dsn = cluster.superuser_dsn(TEST_DATABASE)
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("SELECT %s::text", [sentinel])
    assert settings["OPTIONS"]["server_side_binding"] is True
    assert sentinel in wait_for(sentinel, offset)


def test_audit_lines_name_the_role_and_application():
    offset = server_log_size()
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM auth_group")
    log = wait_for("auth_group", offset)
    line = next(x for x in log.splitlines() if "AUDIT" in x and "auth_group" in x)
    assert "user=clinic_owner" in line and "app=" in line


def test_a_staff_request_is_audited_under_the_verified_staff_id_and_group_role(client, staff):
    """A clinician's real request: every AUDIT line of its read of the visits names that
    clinician and the Clinician group's role (the line prefix's `app=`), which the database
    checks against the verified token (tests/test_staff_identity.py)."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    client.force_login(staff["clinician"])
    offset = server_log_size()
    url = reverse("records:visit-list", args=[patient.pk])
    assert client.get(url).status_code == 200
    log = wait_for("clinical_records", offset)
    audit = [x for x in log.splitlines() if "AUDIT: SESSION" in x and "clinical_records" in x]
    assert audit, log[-2000:]
    label = f"app=staff:{staff['clinician'].pk}/clinic_clinician "
    assert all("user=clinic_web" in line and label in line for line in audit), audit


def test_the_clinic_date_is_inlined_so_it_adds_no_audit_lines_and_no_class_is_lost(client, staff):
    """clinic_today() and clinic_day_starts() are inlined by the planner (clinic/clinic_time.py):
    a clinician's page logs no call of them, and still logs its reads and the FUNCTION class
    (the staff-identity functions the policies call). Issue #20: they had been a fifth of the
    audit log's bytes on the clinical pages."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    client.force_login(staff["clinician"])
    offset = server_log_size()
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    log = wait_for("clinic_staff_id", offset)
    audit = [line for line in log.splitlines() if "AUDIT: SESSION" in line]
    assert any(",READ,SELECT,TABLE,public.patient_identities," in line for line in audit), audit
    assert any(",FUNCTION,EXECUTE,FUNCTION,public.clinic_staff_id," in line for line in audit)
    assert not [line for line in audit if "FUNCTION,public.clinic_today" in line]
    assert not [line for line in audit if "FUNCTION,public.clinic_day_starts" in line]
