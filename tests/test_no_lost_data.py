"""No lost data: concurrent editors of one record (real threads, separate connections), and a
request that fails half-way keeps nothing (the request's one transaction is rolled back).

The kill and restart runs (key rotation, demo-data load, database restart under load) are
scripts/reliability.py; figures in docs/security-testing.md.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.test import Client

from clinic.models import AccessEvent
from patients import services as patient_services
from patients.models import PatientIdentity
from records import visit_views
from records.models import ClinicalRecord
from tests.conftest import sign_in_client
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")


class HalfWayFailure(RuntimeError):
    pass


def counts() -> tuple[int, int, int]:
    return (
        PatientIdentity.objects.using("owner").count(),
        ClinicalRecord.objects.using("owner").count(),
        AccessEvent.objects.using("owner").count(),
    )


def test_two_editors_saving_at_the_same_moment_lose_nothing(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    visit = ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], diagnosis_code="J06.9"
    )
    url = f"/visits/{visit.pk}/edit/"
    editors = {"clinician": "I10", "clinician2": "E11.9"}
    clients = {name: sign_in_client(Client(), staff[name]) for name in editors}
    for client in clients.values():
        assert b'name="version" value="1"' in client.get(url).content
    barrier = threading.Barrier(len(editors))
    statuses: dict[str, int] = {}

    def save(name: str) -> None:
        try:  # each thread has its own database connections
            barrier.wait(timeout=30)
            response = clients[name].post(
                url,
                {
                    "visit_date": "2024-03-04",
                    "diagnosis_code": editors[name],
                    "notes": f"Fake note by {name}",
                    "version": "1",
                },
            )
            statuses[name] = response.status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(name,)) for name in editors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses.values()) == [302, 409]
    [winner] = [name for name, status in statuses.items() if status == 302]
    visit.refresh_from_db(using="owner")
    assert visit.version == 2
    assert (visit.diagnosis_code, visit.notes) == (editors[winner], f"Fake note by {winner}")


def test_registration_failing_after_its_first_write_keeps_nothing(staff, monkeypatch):
    save = patient_services._save_with_fresh_mrn
    written = []

    def save_then_fail(patient, *, using):
        save(patient, using=using)
        written.append(PatientIdentity.objects.using(using).filter(pk=patient.pk).exists())
        raise HalfWayFailure

    monkeypatch.setattr(patient_services, "_save_with_fresh_mrn", save_then_fail)
    client = sign_in_client(Client(raise_request_exception=False), staff["frontdesk"])
    before = counts()
    response = client.post(
        "/patients/new/",
        {
            "first_name": "Alex",
            "last_name": "Testperson",
            "date_of_birth": "1980-04-30",
            "ssn": "900000001",
            "state": "MA",
            "phone": "(202) 555-0100",
            "email": "alex@example.test",
        },
    )
    assert response.status_code == 500
    assert written == [True]  # the row was there inside the request
    assert b"Testperson" not in response.content and b"HalfWayFailure" not in response.content
    assert counts() == before


def test_a_visit_saved_but_not_logged_is_not_kept(staff, monkeypatch):
    """The record is written, then the access-log event fails: neither stays."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    written = []

    class FailingLog:
        RECORD_CREATED = visit_views.access_log.RECORD_CREATED

        @staticmethod
        def record(*args, **kwargs):
            written.append(ClinicalRecord.objects.exists())  # the service's write happened
            raise HalfWayFailure

    monkeypatch.setattr(visit_views, "access_log", FailingLog)
    client = sign_in_client(Client(raise_request_exception=False), staff["clinician"])
    before = counts()
    response = client.post(
        f"/patients/{patient.pk}/visits/new/",
        {"visit_date": "2024-03-04", "diagnosis_code": "E11.9", "notes": "Fake note"},
    )
    assert response.status_code == 500
    assert written == [True]
    assert counts() == before
