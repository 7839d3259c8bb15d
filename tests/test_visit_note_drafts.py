"""Visit note drafts: encrypted at rest, kept to their author by the database, saved without
counting as activity, given back in the form and spent when the visit is saved."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connections

from accounts.lifetime import NO_RENEW_PATHS
from clinic import access_log
from records.drafts import SAVE_PATH, VisitNoteDraft
from tests.db_helpers import in_request
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

TYPED = "Fake draft sentinel-draft-7e2a typed before the idle sign-out"


@pytest.fixture
def chart(staff):
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return patient


def save(client, patient, **fields):
    data = {"patient_id": str(patient.pk), "visit_date": "2024-03-04", "diagnosis_code": "J06"}
    return client.post(SAVE_PATH, {**data, "notes": TYPED, **fields})


def raw_draft() -> tuple:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT notes, diagnosis_code, visit_date FROM visit_note_drafts")
        return cursor.fetchone()


def test_draft_is_saved_encrypted_logged_and_restored_then_spent(client_for, staff, chart):
    client = client_for(staff["clinician"])
    response = save(client, chart)
    assert response.status_code == 200 and response.json() == {"saved": True}
    stored = raw_draft()
    assert all("sentinel-draft" not in value and value != "J06" for value in stored)
    assert [e.patient_id for e in events(access_log.DRAFT_SAVED)] == [chart.pk]
    # Saved again: still one draft per form.
    assert save(client, chart, notes=TYPED + " more").status_code == 200
    assert VisitNoteDraft.objects.using("owner").count() == 1

    page = client.get(f"/patients/{chart.pk}/visits/new/")
    assert TYPED + " more" in page.content.decode()
    assert "is back in the form" in page.content.decode()
    assert [e.patient_id for e in events(access_log.DRAFT_RESTORED)] == [chart.pk]

    client.post(
        f"/patients/{chart.pk}/visits/new/",
        {"visit_date": "2024-03-04", "diagnosis_code": "J06.9", "notes": "Fake final note"},
    )
    assert VisitNoteDraft.objects.using("owner").count() == 0


def test_saving_a_draft_does_not_renew_the_session():
    assert SAVE_PATH in NO_RENEW_PATHS


def test_other_roles_and_outside_patients_are_refused(client_for, staff, chart):
    outside = PatientFactory(first_name="Otherpatient", last_name="Zzyzx", ssn="900-00-0002")
    clinician = client_for(staff["clinician"])
    assert save(clinician, outside).status_code == 403
    assert events(access_log.ACCESS_REFUSED)[-1].patient_id == outside.pk
    for persona in ("frontdesk", "analyst"):
        assert save(client_for(staff[persona]), chart).status_code == 403
    assert VisitNoteDraft.objects.using("owner").count() == 0


def test_database_keeps_drafts_to_their_author(client_for, staff, chart):
    save(client_for(staff["clinician"]), chart)
    draft = VisitNoteDraft.objects.using("owner").get()
    other = staff["clinician2"]
    CareTeamMemberFactory(staff=other, patient=chart)
    # Another clinician, even on the same care team, sees, changes and deletes no draft of theirs.
    assert in_request(other, "SELECT count(*) FROM visit_note_drafts") == [(0,)]
    assert in_request(staff["clinician"], "SELECT count(*) FROM visit_note_drafts") == [(1,)]
    assert in_request(other, "UPDATE visit_note_drafts SET notes = '' RETURNING 1") == []
    assert in_request(other, "DELETE FROM visit_note_drafts RETURNING 1") == []
    # Nor writes one in someone else's name.
    with pytest.raises(DatabaseError, match="row-level security"):
        in_request(
            other,
            "INSERT INTO visit_note_drafts (draft_id, staff_id, patient_id, visit_date,"
            " diagnosis_code, notes, saved_at) VALUES (gen_random_uuid(), %s, %s, '', '', '',"
            " now())",
            [staff["clinician"].pk, chart.pk],
        )
    # A clinician writes none for a patient they may not see.
    outside = PatientFactory(first_name="Otherpatient", last_name="Zzyzx", ssn="900-00-0002")
    with pytest.raises(DatabaseError, match="row-level security"):
        in_request(
            other,
            "INSERT INTO visit_note_drafts (draft_id, staff_id, patient_id, visit_date,"
            " diagnosis_code, notes, saved_at) VALUES (gen_random_uuid(), %s, %s, '', '', '',"
            " now())",
            [other.pk, outside.pk],
        )
    # The front desk and the analyst hold no right on the table at all.
    for persona in ("frontdesk", "analyst", "privacy"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], "SELECT count(*) FROM visit_note_drafts")
    assert VisitNoteDraft.objects.using("owner").get().pk == draft.pk
