"""What the database guarantees for right-of-access requests (45 CFR 164.524), proven with raw
SQL on the real cluster, injected into a signed-in user's request: only the privacy officer
reads or writes them; a request is recorded by the caller and due 30 days after it was received;
one extension, before the due date; a closed request never changes; and the privacy officer
reads a patient's visits and demographics only while an open request for that patient exists."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.utils import timezone

from clinic.encryption import encrypt_value
from tests.db_helpers import in_request, request_cursor
from tests.factories import AccessRequestFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")

INSERT = (
    "INSERT INTO access_requests (request_id, patient_id, received_on, received_how,"
    " verified_by_id, verified_how, requested, format, delivery, due_on, pdf_sha256,"
    " fhir_sha256, outcome, denial_ground, recorded_at)"
    " VALUES (%s, %s, %s, 'mail', %s, 'photo_id', %s, 'pdf', 'mail', %s, '', '', 'open', '',"
    " now()) RETURNING request_id"
)


def insert_params(patient, verified_by, *, received=None, due=None) -> list:
    received = received or timezone.localdate()
    return [
        str(uuid.uuid4()),
        str(patient.pk),
        received,
        verified_by.pk,
        encrypt_value("Fake request", "access_requests.requested"),
        due or received + datetime.timedelta(days=30),
    ]


def update(user, statement: str, params: list) -> int:
    with request_cursor(user) as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def extend(user, request, *, on=None, reason="Fake reason: records in storage") -> int:
    today = on or timezone.localdate()
    return update(
        user,
        "UPDATE access_requests SET due_on = due_on + 30, extended_on = %s,"
        " extended_by_id = %s, extension_reason = %s WHERE request_id = %s",
        [
            today,
            user.pk,
            encrypt_value(reason, "access_requests.extension_reason") if reason else None,
            str(request.pk),
        ],
    )


def test_privacy_officer_records_a_request_due_in_30_days(staff, patient):
    rows = in_request(staff["privacy"], INSERT, insert_params(patient, staff["privacy"]))
    assert len(rows) == 1


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin"])
def test_other_roles_neither_read_nor_record_requests(staff, patient, persona):
    AccessRequestFactory(patient=patient)
    user = staff[persona]
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(user, "SELECT request_id FROM access_requests")
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(user, INSERT, insert_params(patient, user))


def test_a_request_is_recorded_by_the_caller(staff, patient):
    other = AccessRequestFactory().verified_by
    with pytest.raises(DatabaseError, match="recorded by the caller"):
        in_request(staff["privacy"], INSERT, insert_params(patient, other))


def test_due_date_is_received_plus_30_days(staff, patient):
    received = timezone.localdate() - datetime.timedelta(days=3)
    params = insert_params(
        patient, staff["privacy"], received=received, due=received + datetime.timedelta(days=60)
    )
    with pytest.raises(DatabaseError, match="due 30 days"):
        in_request(staff["privacy"], INSERT, params)


def test_a_request_is_not_received_in_the_future(staff, patient):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(DatabaseError, match="future"):
        in_request(
            staff["privacy"], INSERT, insert_params(patient, staff["privacy"], received=tomorrow)
        )


def test_one_extension_then_none(staff):
    request = AccessRequestFactory(verified_by=staff["privacy"])
    assert extend(staff["privacy"], request) == 1
    # Committed by the owner to try the second on a request already extended.
    request.refresh_from_db(using="owner")
    type(request).objects.using("owner").filter(pk=request.pk).update(
        extended_on=timezone.localdate(),
        extended_by=staff["privacy"],
        extension_reason="Fake reason",
        due_on=request.due_on + datetime.timedelta(days=30),
    )
    with pytest.raises(DatabaseError, match="extended once"):
        extend(staff["privacy"], request)


def test_no_extension_after_the_due_date(staff):
    received = timezone.localdate() - datetime.timedelta(days=31)
    request = AccessRequestFactory(received_on=received)
    with pytest.raises(DatabaseError, match="before it falls due"):
        extend(staff["privacy"], request)


def test_an_extension_has_a_written_reason(staff):
    request = AccessRequestFactory()
    with pytest.raises(DatabaseError, match="written reason"):
        extend(staff["privacy"], request, reason="")


def test_the_due_date_moves_only_by_the_extension(staff):
    request = AccessRequestFactory()
    with pytest.raises(DatabaseError, match="extension is 30 days"):
        update(
            staff["privacy"],
            "UPDATE access_requests SET due_on = due_on + 90 WHERE request_id = %s",
            [str(request.pk)],
        )


def test_what_was_asked_never_changes(staff):
    request = AccessRequestFactory()
    with pytest.raises(DatabaseError, match="permission denied"):
        update(
            staff["privacy"],
            "UPDATE access_requests SET received_on = received_on - 10 WHERE request_id = %s",
            [str(request.pk)],
        )


def test_fulfilled_needs_a_hand_over_and_a_denial_its_ground(staff):
    request = AccessRequestFactory()
    close = (
        "UPDATE access_requests SET outcome = %s, closed_on = %s, closed_by_id = %s"
        " WHERE request_id = %s"
    )
    today = timezone.localdate()
    with pytest.raises(DatabaseError, match="recorded hand-over"):
        update(staff["privacy"], close, ["fulfilled", today, staff["privacy"].pk, str(request.pk)])
    with pytest.raises(DatabaseError, match="names its ground"):
        update(staff["privacy"], close, ["denied", today, staff["privacy"].pk, str(request.pk)])
    with pytest.raises(DatabaseError, match="hand-over follows a produced export"):
        update(
            staff["privacy"],
            "UPDATE access_requests SET handed_over_on = %s WHERE request_id = %s",
            [today, str(request.pk)],
        )


def test_a_closed_request_never_changes(staff):
    request = AccessRequestFactory(
        outcome="denied",
        denial_ground="litigation",
        closed_on=timezone.localdate(),
        closed_by=staff["privacy"],
    )
    with pytest.raises(DatabaseError, match="closed access request never changes"):
        extend(staff["privacy"], request)


def test_no_row_is_deleted(staff):
    request = AccessRequestFactory()
    with pytest.raises(DatabaseError, match="permission denied"):
        update(
            staff["privacy"],
            "DELETE FROM access_requests WHERE request_id = %s",
            [str(request.pk)],
        )


VISITS = "SELECT count(*) FROM clinical_records WHERE patient_id = %s"
DEMOGRAPHICS = "SELECT count(*) FROM access_request_demographics(%s)"


def test_privacy_officer_reads_visits_only_while_a_request_is_open(staff):
    patient, other = PatientFactory(), PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    ClinicalRecordFactory(patient=patient)
    ClinicalRecordFactory(patient=other)
    assert in_request(staff["privacy"], VISITS, [str(patient.pk)]) == [(0,)]
    request = AccessRequestFactory(patient=patient)
    assert in_request(staff["privacy"], VISITS, [str(patient.pk)]) == [(1,)]
    assert in_request(staff["privacy"], "SELECT count(*) FROM clinical_records") == [(1,)]
    assert in_request(staff["privacy"], DEMOGRAPHICS, [str(request.pk)]) == [(1,)]
    type(request).objects.using("owner").filter(pk=request.pk).update(
        outcome="denied",
        denial_ground="litigation",
        closed_on=timezone.localdate(),
        closed_by=staff["privacy"],
    )
    assert in_request(staff["privacy"], VISITS, [str(patient.pk)]) == [(0,)]
    assert in_request(staff["privacy"], DEMOGRAPHICS, [str(request.pk)]) == [(0,)]


def test_another_role_cannot_use_the_demographics_function(staff):
    request = AccessRequestFactory()
    for persona in ("frontdesk", "clinician", "analyst"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], DEMOGRAPHICS, [str(request.pk)])


def test_switching_to_the_privacy_officer_role_reads_nothing(staff):
    request = AccessRequestFactory()
    ClinicalRecordFactory(patient=request.patient)
    with request_cursor(staff["clinician"], switch_to="clinic_privacy_officer") as cursor:
        cursor.execute("SELECT count(*) FROM access_requests")
        assert cursor.fetchone() == (0,)
        cursor.execute(VISITS, [str(request.patient_id)])
        assert cursor.fetchone() == (0,)
        cursor.execute(DEMOGRAPHICS, [str(request.pk)])
        assert cursor.fetchone() == (0,)
