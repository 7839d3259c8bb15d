"""Issue 16, item 6: a refusal that concerns a patient is logged with that patient's id, so the
privacy officer sees the probe in the patient's access report, and a visit outside the care team
is refused the way the patient's visit list is (403 with the way to break the glass). The app
learns the patient through one narrow database function per table (clinic/refused_patient.py),
which the attacker's own SQL cannot turn into more."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import DatabaseError
from django.urls import reverse

from clinic import access_log
from tests.db_helpers import request_cursor
from tests.factories import (
    AppointmentFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def visit(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"], diagnosis_code="I10")


def test_a_visit_outside_the_care_team_is_refused_like_the_visit_list(client_for, staff, visit):
    client = client_for(staff["clinician2"])
    by_record = client.get(reverse("records:visit-detail", kwargs={"record_id": visit.pk}))
    by_patient = client.get(reverse("records:visit-list", kwargs={"patient_id": visit.patient_id}))
    assert by_record.status_code == by_patient.status_code == 403
    templates = {t.name for t in by_record.templates}
    assert templates == {t.name for t in by_patient.templates}
    assert "records/not_on_care_team.html" in templates
    assert b"Break the glass" in by_record.content
    first, second = events(access_log.ACCESS_REFUSED)
    assert first.patient_id == second.patient_id == visit.patient_id
    assert first.reason == second.reason == "not on care team"


def test_probes_of_a_patients_pages_appear_in_the_privacy_officers_report(client_for, staff, visit):
    """Probe as a clinician outside the care team and as an analyst; the report lists both."""
    detail = reverse("records:visit-detail", kwargs={"record_id": visit.pk})
    assert client_for(staff["clinician2"]).get(detail).status_code == 403
    assert client_for(staff["analyst"]).get(detail).status_code == 403
    report = client_for(staff["privacy"]).get(
        reverse("privacy:patient-report", kwargs={"patient_id": visit.patient_id})
    )
    assert report.status_code == 200
    refused = [
        (row.username, row.event.outcome)
        for row in report.context["rows"]
        if row.event.action == access_log.ACCESS_REFUSED
    ]
    assert sorted(refused) == [("t-analyst", "403"), ("t-clinician2", "403")]
    body = report.content.decode()
    assert "t-clinician2" in body and "t-analyst" in body


def test_an_unknown_visit_is_not_found_and_tied_to_no_patient(client_for, staff):
    missing = reverse("records:visit-detail", kwargs={"record_id": uuid.uuid4()})
    response = client_for(staff["clinician2"]).get(missing)
    assert response.status_code == 404
    assert b"Break the glass" not in response.content
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id is None


def test_another_clinicians_appointment_is_refused_with_its_patient(client_for, staff):
    appointment = AppointmentFactory(clinician=staff["clinician"])
    step = reverse("scheduling:step", kwargs={"appointment_id": appointment.pk})
    assert client_for(staff["clinician2"]).post(step, {"status": "in_room"}).status_code == 404
    assert client_for(staff["analyst"]).post(step, {"status": "in_room"}).status_code == 403
    cancel = reverse("scheduling:cancel", kwargs={"appointment_id": appointment.pk})
    assert client_for(staff["clinician"]).get(cancel).status_code == 403
    refused = events(access_log.ACCESS_REFUSED)
    assert [e.patient_id for e in refused] == [appointment.patient_id] * 3
    assert [e.outcome for e in refused] == ["404", "403", "403"]


def test_another_clinicians_grant_is_not_found_and_tied_to_its_patient(client_for, staff):
    grant = BreakGlassGrantFactory(staff=staff["clinician"])
    end = reverse("break_glass:end", kwargs={"grant_id": grant.pk})
    assert client_for(staff["clinician2"]).get(end).status_code == 404
    assert client_for(staff["frontdesk"]).get(end).status_code == 403
    refused = events(access_log.ACCESS_REFUSED)
    assert [e.patient_id for e in refused] == [grant.patient_id] * 2


# --- the database's side: the attacker's own SQL ----------------------------------------------


def test_the_function_gives_a_clinician_the_patient_id_and_nothing_else(staff, visit):
    with request_cursor(staff["clinician2"]) as cursor:
        cursor.execute("SELECT count(*) FROM clinical_records WHERE record_id = %s", [visit.pk])
        assert cursor.fetchone()[0] == 0  # the record itself stays hidden
        cursor.execute("SELECT clinic_refused_record_patient(%s)", [visit.pk])
        assert cursor.fetchone()[0] == visit.patient_id
        cursor.execute("SELECT clinic_refused_record_patient(%s)", [uuid.uuid4()])
        assert cursor.fetchone()[0] is None


def test_the_bare_web_login_may_not_call_it(visit):
    with pytest.raises(DatabaseError) as refused:
        with request_cursor(None) as cursor:
            cursor.execute("SELECT clinic_refused_record_patient(%s)", [visit.pk])
    assert isinstance(refused.value.__cause__, psycopg.errors.InsufficientPrivilege)


def test_without_a_verified_identity_it_answers_nothing(staff, visit):
    """A group role switched to by injected SQL, with no verified staff token, learns nothing."""
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute("SELECT set_config('app.staff_token', 'forged', true)")
        cursor.execute("SELECT clinic_refused_record_patient(%s)", [visit.pk])
        assert cursor.fetchone()[0] is None
