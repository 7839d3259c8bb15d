"""The visit page says who saved the visit last and when ("Recorded ... by", "Last changed ...
by"), not the optimistic-lock counter, which the edit form still submits. Who changed it is set
by the database to the verified caller: SQL naming someone else gets the caller all the same."""

from __future__ import annotations

import pytest
from django.urls import reverse

from records.models import ClinicalRecord
from tests.db_helpers import request_cursor
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def visit(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"])


def detail(visit) -> str:
    return reverse("records:visit-detail", kwargs={"record_id": visit.pk})


def last_changed(body: str) -> str:
    start = body.index("<dt>", body.index('id="last-changed"') - 40)
    return body[start : body.index("</dd>", start)]


def stored(visit) -> ClinicalRecord:
    return ClinicalRecord.objects.using("owner").get(pk=visit.pk)


def test_a_new_visit_shows_who_recorded_it_not_a_version(client_for, staff, visit):
    body = client_for(staff["clinician"]).get(detail(visit)).content.decode()
    line = last_changed(body)
    assert "Recorded" in line and "t-clinician" in line
    assert "Version" not in body


def test_an_edit_shows_who_changed_it_and_the_form_still_sends_the_version(
    client_for, staff, visit
):
    other = client_for(staff["clinician2"])
    page = other.get(reverse("records:visit-edit", kwargs={"record_id": visit.pk}))
    assert b'name="version" value="1"' in page.content
    other.post(
        reverse("records:visit-edit", kwargs={"record_id": visit.pk}),
        {"visit_date": "2024-03-04", "diagnosis_code": "I10", "notes": "Fake", "version": "1"},
    )
    assert (stored(visit).version, stored(visit).changed_by_id) == (2, staff["clinician2"].pk)
    line = last_changed(other.get(detail(visit)).content.decode())
    assert "Last changed" in line and "t-clinician2" in line


def test_sql_naming_someone_else_as_the_changer_records_the_caller(staff, visit):
    with request_cursor(staff["clinician2"]) as cursor:
        cursor.execute(
            "UPDATE clinical_records SET changed_by_id = %s, version = version + 1 "
            "WHERE record_id = %s RETURNING changed_by_id",
            [staff["clinician"].pk, str(visit.pk)],
        )
        assert cursor.fetchone()[0] == staff["clinician2"].pk
        cursor.execute(
            "INSERT INTO clinical_records (record_id, patient_id, provider_id, changed_by_id, "
            "diagnosis_code, notes, visit_date, version, created_at, updated_at) "
            "SELECT gen_random_uuid(), patient_id, %s, %s, diagnosis_code, notes, visit_date, 1, "
            "now(), now() FROM clinical_records WHERE record_id = %s RETURNING changed_by_id",
            [staff["clinician2"].pk, staff["clinician"].pk, str(visit.pk)],
        )
        assert cursor.fetchone()[0] == staff["clinician2"].pk
