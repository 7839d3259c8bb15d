"""Recording a visit: only the treating clinician, as themselves, with a real ICD-10-CM code;
every bad input is refused with a message and saves nothing; notes are ciphertext at rest."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic import access_log
from records.models import ClinicalRecord
from tests.factories import (
    TOMORROW,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    PatientFactory,
    at_run_time,
)
from tests.privacy_helpers import events
from tests.records_support import raw_record_row, record_count

pytestmark = pytest.mark.usefixtures("clinic_db")
NOTE = "Fake note: sentinel-new-visit-42, follow up in two weeks."


@pytest.fixture
def patient(staff):
    patient = PatientFactory(date_of_birth=datetime.date(1990, 6, 1))
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return patient


def url(patient) -> str:
    return reverse("records:visit-new", kwargs={"patient_id": patient.pk})


def valid(**changes) -> dict:
    return {"visit_date": "2024-02-10", "diagnosis_code": "e11.9", "notes": NOTE, **changes}


def test_clinician_records_a_visit_as_themselves(client_for, staff, patient):
    client = client_for(staff["clinician"])
    assert client.get(url(patient)).status_code == 200
    response = client.post(url(patient), valid())
    record = ClinicalRecord.objects.using("owner").get()
    assert response.status_code == 302
    assert response["Location"] == reverse("records:visit-detail", kwargs={"record_id": record.pk})
    assert record.provider_id == staff["clinician"].pk
    assert record.diagnosis_code == "E11.9"
    assert record.notes == NOTE
    assert record.version == 1
    [event] = events(access_log.RECORD_CREATED)
    assert event.object_id == str(record.pk)
    assert event.patient_id == patient.pk
    detail = client.get(response["Location"]).content.decode()
    assert "Type 2 diabetes mellitus without complications" in detail
    assert NOTE in detail


def test_opening_the_form_is_logged_for_the_patient(client_for, staff, patient):
    """The form names the patient: opening it is an event tied to them."""
    assert client_for(staff["clinician"]).get(url(patient)).status_code == 200
    [shown] = events(access_log.CHART_VIEWED)
    assert (shown.staff_id, shown.patient_id, shown.reason) == (
        staff["clinician"].pk,
        patient.pk,
        "visit_form",
    )


def test_notes_are_ciphertext_at_rest(client_for, staff, patient):
    client_for(staff["clinician"]).post(url(patient), valid())
    record = ClinicalRecord.objects.using("owner").get()
    _date, code, stored_notes, _version = raw_record_row(record.pk)
    assert code == "E11.9"
    assert stored_notes.startswith("v1:")
    assert "sentinel" not in stored_notes


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"visit_date": "2023-02-30"}, "Enter a valid date"),
        ({"visit_date": "not a date"}, "Enter a valid date"),
        ({"visit_date": ""}, "This field is required"),
        ({"visit_date": TOMORROW}, "cannot be in the future"),
        ({"visit_date": "1989-12-31"}, "before the patient was born"),
        ({"diagnosis_code": "Z99.999X"}, "Not a billable ICD-10-CM code"),
        ({"diagnosis_code": "E11"}, "Not a billable ICD-10-CM code"),
        ({"diagnosis_code": "NOTACODE"}, "Not a billable ICD-10-CM code"),
        ({"diagnosis_code": ""}, "This field is required"),
        ({"notes": "x" * 20001}, "at most 20000 characters"),
        ({"notes": "Fake note\x00with a NUL byte"}, "Null characters are not allowed"),
    ],
)
def test_bad_input_is_refused_and_saves_nothing(client_for, staff, patient, changes, message):
    response = client_for(staff["clinician"]).post(url(patient), valid(**at_run_time(changes)))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert b"Nothing was saved" in response.content
    assert record_count() == 0
    assert events(access_log.RECORD_CREATED) == []


def test_form_keeps_what_was_typed_after_an_error(client_for, staff, patient):
    response = client_for(staff["clinician"]).post(url(patient), valid(diagnosis_code="E11"))
    assert b"sentinel-new-visit-42" in response.content


def test_clinician_not_on_care_team_is_refused_and_nothing_saved(client_for, staff, patient):
    client = client_for(staff["clinician2"])
    get = client.get(url(patient))
    assert get.status_code == 403
    assert f"/break-glass/{patient.pk}/".encode() in get.content
    post = client.post(url(patient), valid())
    assert post.status_code == 403
    assert record_count() == 0
    assert len(events(access_log.ACCESS_REFUSED, staff_id=staff["clinician2"].pk)) == 2


def test_break_glass_grant_lets_a_clinician_record_a_visit(client_for, staff, patient):
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    response = client_for(staff["clinician2"]).post(url(patient), valid())
    assert response.status_code == 302
    assert ClinicalRecord.objects.using("owner").get().provider_id == staff["clinician2"].pk


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin", "outsider"])
def test_only_clinicians_may_record_visits(client_for, staff, patient, persona):
    client = client_for(staff[persona])
    assert client.get(url(patient)).status_code == 403
    assert client.post(url(patient), valid()).status_code == 403
    assert record_count() == 0
    assert len(events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)) == 2


def test_database_refuses_a_record_written_in_another_providers_name(staff, patient):
    """Row-level security: even a buggy view could not file a visit under someone else."""
    from django.db import DatabaseError, connections, transaction

    from clinic.db_context import apply_context

    # The write check (records/db_checks.py) refuses it first; row-level security would too.
    with pytest.raises(DatabaseError, match="recorded by its provider"):
        with transaction.atomic(using="default"):
            apply_context("clinic_clinician", staff["clinician"].pk)
            ClinicalRecord(
                patient=patient,
                provider=staff["clinician2"],
                diagnosis_code="J06.9",
                notes="",
                visit_date=datetime.date(2024, 1, 1),
            ).save(using="default")
    connections["default"].close()
    assert record_count() == 0
