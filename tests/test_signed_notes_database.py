"""Signed notes and addenda, enforced by PostgreSQL (records/db_signing.py, records/db_grants.py).

Each attack is raw SQL injected into a signed-in request (after the real context statement, as
the role's own login), or run on the bare web login, or by the owner: the database refuses it,
and the stored row is unchanged. The application's own statements go through, with their
access-log events."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from clinic import access_log, roles
from clinic.encryption import encrypt_value
from records.models import ClinicalRecord, VisitAddendum
from tests.conftest import make_staff
from tests.db_helpers import request_cursor
from tests.factories import (
    FAKE_ADDENDUM,
    FAKE_NOTE,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
    VisitAddendumFactory,
)
from tests.test_write_checks import inject, logged

pytestmark = pytest.mark.usefixtures("clinic_db")

NOTES_AAD = "clinical_records.notes"
TEXT_AAD = "visit_addenda.text"


@pytest.fixture
def patient(staff):
    patient = PatientFactory()
    for clinician in ("clinician", "clinician2"):
        CareTeamMemberFactory(staff=staff[clinician], patient=patient)
    return patient


@pytest.fixture
def signed(staff, patient):
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"], signed=True)


@pytest.fixture
def unsigned(staff, patient):
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"])


def stored(record) -> tuple:
    row = ClinicalRecord.objects.using("owner").get(pk=record.pk)
    return (row.visit_date, row.diagnosis_code, row.notes, row.version, row.signed_at)


def sign_statement(record, signer_id) -> tuple[str, list]:
    return (
        "UPDATE clinical_records SET signed_at = now(), signed_by_id = %s, version = version + 1"
        " WHERE record_id = %s",
        [signer_id, record.pk],
    )


# --- a signed note is final ----------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        "notes = %(note)s, version = version + 1",
        "diagnosis_code = 'I10', version = version + 1",
        "visit_date = visit_date - 1, version = version + 1",
        "signed_at = NULL, signed_by_id = NULL, version = version + 1",
        "signed_at = signed_at - interval '1 day', version = version + 1",
        "version = version + 1",
    ],
)
@pytest.mark.parametrize("author", ["clinician", "clinician2"])
def test_no_clinician_changes_a_signed_note(staff, signed, change, author):
    before = stored(signed)
    note = encrypt_value("Rewritten fake note", NOTES_AAD)
    with pytest.raises(DatabaseError, match="signed note never changes"):
        inject(
            staff[author],
            f"UPDATE clinical_records SET {change} WHERE record_id = %(id)s",  # noqa: S608
            {"note": note, "id": signed.pk},
        )
    assert stored(signed) == before


def test_the_bare_web_login_cannot_change_a_signed_note_either(staff, signed):
    """After RESET ROLE in the author's request, the web login itself holds no right on
    visits."""
    before = stored(signed)
    with pytest.raises(DatabaseError, match="permission denied"):
        with request_cursor(staff["clinician"], reset_role=True) as cursor:
            cursor.execute(
                "UPDATE clinical_records SET diagnosis_code = 'I10', version = version + 1"
                " WHERE record_id = %s",
                [signed.pk],
            )
    assert stored(signed) == before


def test_the_front_desk_switching_roles_changes_no_signed_note(staff, signed):
    before = stored(signed)
    with request_cursor(staff["frontdesk"], switch_to="clinic_clinician") as cursor:
        cursor.execute(
            "UPDATE clinical_records SET diagnosis_code = 'I10', version = version + 1"
            " WHERE record_id = %s",
            [signed.pk],
        )
        assert cursor.rowcount == 0
    assert stored(signed) == before


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE clinical_records SET diagnosis_code = 'I10' WHERE record_id = %s", "re-encrypt"),
        ("UPDATE clinical_records SET version = version + 1 WHERE record_id = %s", "re-encrypt"),
        (
            "UPDATE clinical_records SET signed_at = NULL, signed_by_id = NULL"
            " WHERE record_id = %s",
            "re-encrypt",
        ),
        ("DELETE FROM clinical_records WHERE record_id = %s", "signed note is kept"),
    ],
)
def test_even_the_owner_only_re_encrypts_a_signed_note(signed, statement, refusal):
    before = stored(signed)
    with pytest.raises(DatabaseError, match=refusal):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(statement, [signed.pk])
    assert stored(signed) == before


def test_the_owner_may_rewrite_a_signed_notes_ciphertext(signed):
    """What key rotation does: the same text under a fresh nonce (or key)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "UPDATE clinical_records SET notes = %s WHERE record_id = %s",
            [encrypt_value(FAKE_NOTE, NOTES_AAD), signed.pk],
        )
        assert cursor.rowcount == 1
    assert ClinicalRecord.objects.using("owner").get(pk=signed.pk).notes == FAKE_NOTE


def test_an_unsigned_note_still_changes_within_the_rules(staff, unsigned):
    changed = inject(
        staff["clinician2"],
        "UPDATE clinical_records SET diagnosis_code = 'I10', version = version + 1"
        " WHERE record_id = %s",
        [unsigned.pk],
    )
    assert changed == 1


# --- signing ---------------------------------------------------------------------------------
def test_the_author_signs_with_the_event(staff, unsigned):
    statement, params = sign_statement(unsigned, staff["clinician"].pk)
    changed = inject(
        staff["clinician"],
        statement,
        params,
        then=[logged(access_log.NOTE_SIGNED, unsigned.pk, unsigned.patient_id)],
    )
    assert changed == 1
    row = ClinicalRecord.objects.using("owner").get(pk=unsigned.pk)
    assert (row.signed_by_id, row.version) == (staff["clinician"].pk, 2)


def test_a_signature_without_its_access_log_event_is_refused_at_commit(staff, unsigned):
    statement, params = sign_statement(unsigned, staff["clinician"].pk)
    with pytest.raises(DatabaseError, match="signed with its access-log event"):
        inject(staff["clinician"], statement, params)
    assert stored(unsigned)[4] is None


def test_another_clinicians_event_does_not_sign_for_the_author(staff, unsigned):
    """The event must be the signer's own: one logged in another request does not count."""
    inject(
        staff["clinician2"],
        "SELECT append_access_event(%s, %s, %s, NULL, '', '')",
        [access_log.NOTE_SIGNED, unsigned.patient_id, str(unsigned.pk)],
    )
    statement, params = sign_statement(unsigned, staff["clinician"].pk)
    with pytest.raises(DatabaseError, match="signed with its access-log event"):
        inject(staff["clinician"], statement, params)


@pytest.mark.parametrize(
    ("signer", "signed_by", "refusal"),
    [
        # Another clinician of the care team signs, as themselves or in the author's name.
        ("clinician2", "clinician2", "signed by its author"),
        ("clinician2", "clinician", "signed by its author"),
        # The author names someone else as the signer.
        ("clinician", "clinician2", "signed by its author"),
    ],
)
def test_only_the_author_signs(staff, unsigned, signer, signed_by, refusal):
    statement, params = sign_statement(unsigned, staff[signed_by].pk)
    with pytest.raises(DatabaseError, match=refusal):
        inject(staff[signer], statement, params)
    assert stored(unsigned)[4] is None


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("signed_at = now() - interval '2 days', signed_by_id = %(me)s", "signed now"),
        ("signed_at = now(), signed_by_id = %(me)s, diagnosis_code = 'I10'", "nothing but"),
        ("signed_at = now(), signed_by_id = %(me)s, notes = %(note)s", "nothing but"),
        ("signed_at = now(), signed_by_id = NULL", "signed by its author"),
        ("signed_at = NULL, signed_by_id = %(me)s", "signed_by_and_at"),
    ],
)
def test_a_signature_is_now_and_changes_nothing_else(staff, unsigned, change, refusal):
    values = {
        "me": staff["clinician"].pk,
        "note": encrypt_value("Other fake note", NOTES_AAD),
        "id": unsigned.pk,
    }
    with pytest.raises(DatabaseError, match=refusal):
        inject(
            staff["clinician"],
            f"UPDATE clinical_records SET {change}, version = version + 1"  # noqa: S608
            " WHERE record_id = %(id)s",
            values,
        )
    assert stored(unsigned)[4] is None


def test_a_new_visit_is_not_born_signed(staff, patient):
    me = staff["clinician"].pk
    with pytest.raises(DatabaseError, match="step of its own"):
        inject(
            staff["clinician"],
            "INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code,"
            " notes, visit_date, version, created_at, updated_at, signed_at, signed_by_id)"
            " VALUES (gen_random_uuid(), %s, %s, 'J06.9', %s, DATE '2024-01-02', 1, now(), now(),"
            " now(), %s)",
            [patient.pk, me, encrypt_value("", NOTES_AAD), me],
        )


# --- addenda ---------------------------------------------------------------------------------
def addendum_insert(record, author_id, *, patient_id=None, created="now()"):
    addendum_id = uuid.uuid4()
    return addendum_id, (
        "INSERT INTO visit_addenda (addendum_id, record_id, patient_id, author_id, text,"
        f" created_at) VALUES (%s, %s, %s, %s, %s, {created})",
        [
            addendum_id,
            record.pk,
            patient_id or record.patient_id,
            author_id,
            encrypt_value(FAKE_ADDENDUM, TEXT_AAD),
        ],
    )


@pytest.mark.parametrize("author", ["clinician", "clinician2"])
def test_a_care_team_clinician_adds_an_addendum_with_its_event(staff, signed, author):
    addendum_id, (statement, params) = addendum_insert(signed, staff[author].pk)
    inject(
        staff[author],
        statement,
        params,
        then=[logged(access_log.ADDENDUM_ADDED, addendum_id, signed.patient_id)],
    )
    added = VisitAddendum.objects.using("owner").get()
    assert (added.pk, added.author_id, added.text) == (addendum_id, staff[author].pk, FAKE_ADDENDUM)


def test_a_clinician_under_break_the_glass_adds_an_addendum(staff, signed):
    outsider = make_staff("t-covering", roles.CLINICIAN)
    BreakGlassGrantFactory(staff=outsider, patient=signed.patient)
    addendum_id, (statement, params) = addendum_insert(signed, outsider.pk)
    inject(
        outsider,
        statement,
        params,
        then=[logged(access_log.ADDENDUM_ADDED, addendum_id, signed.patient_id)],
    )
    assert VisitAddendum.objects.using("owner").count() == 1


def test_an_addendum_without_its_event_is_refused_at_commit(staff, signed):
    _addendum_id, (statement, params) = addendum_insert(signed, staff["clinician"].pk)
    with pytest.raises(DatabaseError, match="written with its access-log event"):
        inject(staff["clinician"], statement, params)
    assert not VisitAddendum.objects.using("owner").exists()


def test_a_clinician_off_the_care_team_cannot_add_an_addendum(staff):
    theirs = ClinicalRecordFactory(provider=staff["clinician2"], signed=True)
    CareTeamMemberFactory(staff=staff["clinician2"], patient=theirs.patient)
    _id, (statement, params) = addendum_insert(theirs, staff["clinician"].pk)
    with pytest.raises(DatabaseError, match="author may see|row-level security"):
        inject(staff["clinician"], statement, params)
    assert not VisitAddendum.objects.using("owner").exists()


def test_an_addendum_names_the_visits_patient(staff, signed):
    """A patient the author may see, but not the visit's: the addendum would be read under
    the wrong patient's chart."""
    other = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=other)
    _id, (statement, params) = addendum_insert(signed, staff["clinician"].pk, patient_id=other.pk)
    with pytest.raises(DatabaseError, match="of its patient"):
        inject(staff["clinician"], statement, params)


@pytest.mark.parametrize(
    ("author", "created", "refusal"),
    [
        ("clinician2", "now()", "written by its author"),
        ("clinician", "now() - interval '1 day'", "signed now"),
    ],
)
def test_an_addendum_is_the_callers_own_and_now(staff, signed, author, created, refusal):
    _id, (statement, params) = addendum_insert(signed, staff[author].pk, created=created)
    with pytest.raises(DatabaseError, match=refusal):
        inject(staff["clinician"], statement, params)


def test_an_unsigned_note_takes_no_addendum(staff, unsigned):
    _id, (statement, params) = addendum_insert(unsigned, staff["clinician"].pk)
    with pytest.raises(DatabaseError, match="follows a signed note"):
        inject(staff["clinician"], statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE visit_addenda SET text = text WHERE addendum_id = %s",
        "UPDATE visit_addenda SET created_at = now() WHERE addendum_id = %s",
        "DELETE FROM visit_addenda WHERE addendum_id = %s",
    ],
)
@pytest.mark.parametrize("who", ["clinician", "clinician2", "frontdesk", "analyst", "privacy"])
def test_no_role_changes_or_deletes_an_addendum(staff, statement, who):
    addendum = VisitAddendumFactory(record__provider=staff["clinician"])
    CareTeamMemberFactory(staff=staff["clinician"], patient=addendum.patient)
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(staff[who], statement, [addendum.pk])
    assert VisitAddendum.objects.using("owner").get().text == FAKE_ADDENDUM


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        (
            "UPDATE visit_addenda SET author_id = author_id + 0, created_at = now()"
            " WHERE addendum_id = %s",
            "re-encrypt",
        ),
        ("DELETE FROM visit_addenda WHERE addendum_id = %s", "addendum is kept"),
    ],
)
def test_even_the_owner_only_re_encrypts_an_addendum(statement, refusal):
    addendum = VisitAddendumFactory()
    with pytest.raises(DatabaseError, match=refusal):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(statement, [addendum.pk])
    assert VisitAddendum.objects.using("owner").count() == 1


@pytest.mark.parametrize("who", ["frontdesk", "analyst", "privacy", "admin"])
def test_only_clinicians_read_addenda(staff, who):
    VisitAddendumFactory()
    with pytest.raises(DatabaseError, match="permission denied"):
        with request_cursor(staff[who]) as cursor:
            cursor.execute("SELECT text FROM visit_addenda")


def test_a_clinician_reads_only_their_patients_addenda(staff, signed):
    VisitAddendumFactory(record=signed)
    VisitAddendumFactory()  # another patient, not on anyone's care team here
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute("SELECT record_id FROM visit_addenda")
        assert cursor.fetchall() == [(signed.pk,)]
    with request_cursor(staff["clinician"], reset_role=True) as cursor:
        with pytest.raises(DatabaseError, match="permission denied"):
            cursor.execute("SELECT record_id FROM visit_addenda")


def test_signing_time_is_the_databases_now(staff, unsigned):
    """The application signs with its clock; the database accepts it within its window."""
    inject(
        staff["clinician"],
        "UPDATE clinical_records SET signed_at = %s, signed_by_id = %s, version = version + 1"
        " WHERE record_id = %s",
        [timezone.now(), staff["clinician"].pk, unsigned.pk],
        then=[logged(access_log.NOTE_SIGNED, unsigned.pk, unsigned.patient_id)],
    )
    assert stored(unsigned)[4] is not None


def test_another_role_switching_to_the_clinician_role_sees_and_adds_no_addendum(staff, signed):
    """The role gate covers addenda: a front-desk request that switches to the clinician role
    (the web login may) reads none and may write none."""
    VisitAddendumFactory(record=signed)
    with request_cursor(staff["frontdesk"], switch_to="clinic_clinician") as cursor:
        cursor.execute("SELECT count(*) FROM visit_addenda")
        assert cursor.fetchone() == (0,)
    _id, (statement, params) = addendum_insert(signed, staff["frontdesk"].pk)
    with pytest.raises(DatabaseError, match="row-level security|author"):
        with request_cursor(staff["frontdesk"], switch_to="clinic_clinician") as cursor:
            cursor.execute(statement, params)
    assert VisitAddendum.objects.using("owner").count() == 1
