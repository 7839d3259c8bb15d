"""What the database guarantees for amendment requests (45 CFR 164.526), proven with raw SQL on
the real cluster injected into a signed-in user's request: only the privacy officer records them
(as the caller, due 60 days after receipt, routed to the author of a signed note of that
patient); only the author decides (the write check refuses the privacy officer, another
clinician sees no row); acceptance names the author's own addendum to that note; a denial names
its ground and reason; a decision never changes; disagreement follows a denial; nobody deletes."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.utils import timezone

from clinic.encryption import encrypt_value
from tests.db_helpers import in_request, request_cursor
from tests.factories import (
    AmendmentRequestFactory,
    ClinicalRecordFactory,
    VisitAddendumFactory,
    deny_amendment,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

INSERT = (
    "INSERT INTO amendment_requests (amendment_id, patient_id, record_id, received_on,"
    " received_how, recorded_by_id, requested, routed_to_id, due_on, outcome, denial_ground,"
    " recorded_at) VALUES (%s, %s, %s, %s, 'mail', %s, %s, %s, %s, 'open', '', now())"
    " RETURNING amendment_id"
)


def params(record, recorded_by, *, routed_to=None, due=None) -> list:
    received = timezone.localdate()
    return [
        str(uuid.uuid4()),
        str(record.patient_id),
        str(record.pk),
        received,
        recorded_by.pk,
        encrypt_value("Fake request", "amendment_requests.requested"),
        (routed_to or record.signed_by).pk,
        due or received + datetime.timedelta(days=60),
    ]


def run(user, statement: str, values: list) -> int:
    with request_cursor(user) as cursor:
        cursor.execute(statement, values)
        return cursor.rowcount


@pytest.fixture
def note(staff):
    return ClinicalRecordFactory(provider=staff["clinician"], signed=True)


def test_privacy_officer_records_one_routed_to_the_author(staff, note):
    assert len(in_request(staff["privacy"], INSERT, params(note, staff["privacy"]))) == 1


def test_routed_elsewhere_or_an_unsigned_note_is_refused(staff, note):
    with pytest.raises(DatabaseError, match="routed to its author"):
        in_request(
            staff["privacy"], INSERT, params(note, staff["privacy"], routed_to=staff["clinician2"])
        )
    unsigned = ClinicalRecordFactory(provider=staff["clinician"])
    values = params(note, staff["privacy"])
    values[2] = str(unsigned.pk)
    values[1] = str(unsigned.patient_id)
    with pytest.raises(DatabaseError, match="routed to its author"):
        in_request(staff["privacy"], INSERT, values)


def test_recorded_by_the_caller_and_due_in_60_days(staff, note):
    other_officer = AmendmentRequestFactory().recorded_by
    with pytest.raises(DatabaseError, match="recorded by the caller"):
        in_request(staff["privacy"], INSERT, params(note, other_officer))
    with pytest.raises(DatabaseError, match="due 60 days"):
        in_request(
            staff["privacy"],
            INSERT,
            params(note, staff["privacy"], due=timezone.localdate() + datetime.timedelta(days=90)),
        )


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "admin"])
def test_other_roles_have_no_right(staff, note, persona):
    AmendmentRequestFactory(record=note)
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff[persona], "SELECT count(*) FROM amendment_requests")


def test_only_the_author_sees_and_decides(staff, note):
    amendment = AmendmentRequestFactory(record=note)
    deny = (
        "UPDATE amendment_requests SET outcome = 'denied', denial_ground = 'accurate',"
        " denial_reason = %s, decided_on = %s, decided_by_id = %s WHERE amendment_id = %s"
    )

    def values(user):
        reason = encrypt_value("Fake reason", "amendment_requests.denial_reason")
        return [reason, timezone.localdate(), user.pk, str(amendment.pk)]

    other = staff["clinician2"]
    assert in_request(other, "SELECT count(*) FROM amendment_requests") == [(0,)]
    assert run(other, deny, values(other)) == 0
    # The privacy officer holds the decision columns (it decides demographic fields), and the
    # write check refuses it a note's decision.
    with pytest.raises(DatabaseError, match="decided by the author it was routed to"):
        run(staff["privacy"], deny, values(staff["privacy"]))
    assert run(staff["clinician"], deny, values(staff["clinician"])) == 1


def test_a_denial_names_its_reason_and_acceptance_the_authors_addendum(staff, note):
    amendment = AmendmentRequestFactory(record=note)
    author = staff["clinician"]
    with pytest.raises(DatabaseError, match="ground and its written reason"):
        run(
            author,
            "UPDATE amendment_requests SET outcome = 'denied', denial_ground = 'accurate',"
            " decided_on = %s, decided_by_id = %s WHERE amendment_id = %s",
            [timezone.localdate(), author.pk, str(amendment.pk)],
        )
    someone_elses = VisitAddendumFactory(record=note, author=staff["clinician2"])
    with pytest.raises(DatabaseError, match="addendum to the note"):
        run(
            author,
            "UPDATE amendment_requests SET outcome = 'accepted', addendum_id = %s,"
            " decided_on = %s, decided_by_id = %s WHERE amendment_id = %s",
            [str(someone_elses.pk), timezone.localdate(), author.pk, str(amendment.pk)],
        )


def test_a_decision_never_changes_and_disagreement_follows_a_denial(staff, note):
    amendment = AmendmentRequestFactory(record=note)
    disagree = (
        "UPDATE amendment_requests SET disagreement = %s, disagreement_on = %s"
        " WHERE amendment_id = %s"
    )
    text = encrypt_value("Fake statement", "amendment_requests.disagreement")
    with pytest.raises(DatabaseError, match="follows a denial"):
        run(staff["privacy"], disagree, [text, timezone.localdate(), str(amendment.pk)])
    deny_amendment(amendment, staff["clinician"])
    assert run(staff["privacy"], disagree, [text, timezone.localdate(), str(amendment.pk)]) == 1
    with pytest.raises(DatabaseError, match="never changes"):
        run(
            staff["clinician"],
            "UPDATE amendment_requests SET denial_ground = 'not_created' WHERE amendment_id = %s",
            [str(amendment.pk)],
        )


def test_nobody_deletes_and_the_switched_role_sees_nothing(staff, note):
    amendment = AmendmentRequestFactory(record=note)
    for persona in ("privacy", "clinician"):
        with pytest.raises(DatabaseError, match="permission denied"):
            run(
                staff[persona],
                "DELETE FROM amendment_requests WHERE amendment_id = %s",
                [str(amendment.pk)],
            )
    with request_cursor(staff["frontdesk"], switch_to="clinic_privacy_officer") as cursor:
        cursor.execute("SELECT count(*) FROM amendment_requests")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT count(*) FROM amendable_visits(%s)", [str(note.patient_id)])
        assert cursor.fetchone() == (0,)


def test_the_free_text_is_encrypted_and_rotated_with_the_keys(staff, note):
    from django.db import connections

    from patients.management.commands import rotate_field_keys

    tables = {t.table: t.columns for t in rotate_field_keys.encrypted_tables()}
    assert tables["amendment_requests"] == (
        "requested",
        "extension_reason",
        "notify",
        "denial_reason",
        "disagreement",
        "rebuttal",
    )
    amendment = AmendmentRequestFactory(record=note, requested="Fake request: sentinel-3e1d")
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT requested FROM amendment_requests WHERE amendment_id = %s", [str(amendment.pk)]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("v1:") and "sentinel-3e1d" not in stored
