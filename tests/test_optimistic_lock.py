"""No lost update: two clinicians edit the same visit; the second save gets a 409 conflict,
keeps what they typed, sees what is saved now, and changes nothing in the database."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from clinic import access_log
from records.services import RecordConflict, record_update
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events
from tests.records_support import raw_record_row

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def visit(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    return ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], diagnosis_code="J06.9"
    )


def edit(visit) -> str:
    return reverse("records:visit-edit", kwargs={"record_id": visit.pk})


def form(at_version: int, **changes) -> dict:
    return {
        "visit_date": "2024-03-04",
        "diagnosis_code": "J06.9",
        "notes": "Fake note",
        "version": str(at_version),
        **changes,
    }


def test_edit_saves_and_increments_the_version(client_for, staff, visit):
    client = client_for(staff["clinician"])
    page = client.get(edit(visit))
    assert b'name="version" value="1"' in page.content
    response = client.post(edit(visit), form(1, diagnosis_code="I10", notes="Fake updated"))
    assert response.status_code == 302
    visit.refresh_from_db(using="owner")
    assert (visit.diagnosis_code, visit.notes, visit.version) == ("I10", "Fake updated", 2)
    [event] = events(access_log.RECORD_CHANGED)
    assert event.object_id == str(visit.pk)


def test_second_editor_gets_a_conflict_and_loses_nothing(staff, visit):
    first, second = Client(), Client()
    first.force_login(staff["clinician"])
    second.force_login(staff["clinician2"])
    # Both open the edit form at version 1.
    assert b'name="version" value="1"' in first.get(edit(visit)).content
    assert b'name="version" value="1"' in second.get(edit(visit)).content

    saved = first.post(edit(visit), form(1, diagnosis_code="I10", notes="Fake first-editor text"))
    assert saved.status_code == 302
    before = raw_record_row(visit.pk)

    conflict = second.post(
        edit(visit), form(1, diagnosis_code="E11.9", notes="Fake second-editor text")
    )
    assert conflict.status_code == 409
    body = conflict.content.decode()
    assert "Someone else saved this visit while you were editing it" in body
    assert "Fake second-editor text" in body  # what they typed is still in the form
    assert 'value="E11.9"' in body
    assert "Fake first-editor text" in body  # the saved version, for comparison
    assert "Essential (primary) hypertension" in body
    assert 'name="version" value="2"' in body  # saving again now is a deliberate choice
    assert raw_record_row(visit.pk) == before
    assert len(events(access_log.RECORD_CHANGED)) == 1

    # Having compared, the second editor saves again on purpose.
    again = second.post(edit(visit), form(2, diagnosis_code="E11.9", notes="Fake merged text"))
    assert again.status_code == 302
    visit.refresh_from_db(using="owner")
    assert (visit.diagnosis_code, visit.notes, visit.version) == ("E11.9", "Fake merged text", 3)


def test_stale_version_in_the_service_raises_and_writes_nothing(staff, visit):
    from django.db import connections, transaction

    from clinic.db_context import apply_context

    before = raw_record_row(visit.pk)
    with pytest.raises(RecordConflict) as raised:
        with transaction.atomic(using="default"):
            apply_context("clinic_clinician", staff["clinician"].pk)
            record_update(
                record=visit,
                expected_version=7,
                visit_date=datetime.date(2024, 1, 1),
                diagnosis_code="I10",
                notes="Fake",
            )
    connections["default"].close()
    assert raised.value.current is not None and raised.value.current.version == 1
    assert raw_record_row(visit.pk) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"diagnosis_code": "E11"},
        {"visit_date": "2999-01-01"},
        {"notes": "Fake\x00"},
        {"notes": "x" * 20001},
        {"version": ""},
    ],
)
def test_bad_input_on_edit_changes_nothing(client_for, staff, visit, changes):
    before = raw_record_row(visit.pk)
    response = client_for(staff["clinician"]).post(edit(visit), form(1, **changes))
    assert response.status_code == 200
    assert raw_record_row(visit.pk) == before
    assert events(access_log.RECORD_CHANGED) == []


def test_two_saves_that_really_overlap_give_one_save_and_one_conflict(staff, visit):
    """The two saves run at the same time: a third connection holds the row lock while both
    requests have read version 1 and wait to write it; once released, the database decides.
    A check-then-write in Python (read the version, compare, UPDATE by key) would save both and
    lose the first editor's text; the conditional UPDATE saves exactly one."""
    import threading
    import time

    from django.db import connections

    from localdb import cluster
    from tests.conftest import TEST_DATABASE

    clients = {}
    for persona in ("clinician", "clinician2"):
        clients[persona] = Client()
        clients[persona].force_login(staff[persona])
        assert b'name="version" value="1"' in clients[persona].get(edit(visit)).content
    statuses: dict[str, int] = {}
    errors: list[BaseException] = []

    def save(persona: str) -> None:
        try:
            text = f"Fake {persona} overlapping text"
            response = clients[persona].post(edit(visit), form(1, notes=text))
            statuses[persona] = response.status_code
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    with cluster.superuser_connect(TEST_DATABASE) as holder:
        with holder.transaction():
            holder.execute(
                "SELECT 1 FROM clinical_records WHERE record_id = %s FOR UPDATE", [visit.pk]
            )
            threads = [threading.Thread(target=save, args=(p,)) for p in clients]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 8  # under the web role's lock_timeout (10 s)
            while True:
                # Activity is read once per transaction unless the snapshot is cleared.
                holder.execute("SELECT pg_stat_clear_snapshot()")
                waiting = holder.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND wait_event_type = 'Lock'",
                    [TEST_DATABASE],
                ).fetchone()[0]
                if waiting >= 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert waiting == 2, "both saves should be waiting on the row"
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses.values()) == [302, 409], statuses
    visit.refresh_from_db(using="owner")
    winner = next(p for p, status in statuses.items() if status == 302)
    assert (visit.version, visit.notes) == (2, f"Fake {winner} overlapping text")
    assert len(events(access_log.RECORD_CHANGED)) == 1
