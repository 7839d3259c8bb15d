"""Writes are bound to the caller and to the rules, in the database (clinic/db_checks.py,
patients/db_checks.py, records/db_checks.py, privacy/db_checks.py). Each attack is raw SQL that
a role's own grants and row-level security would let through, run on the web login's connection
after the real context of a signed-in request of that role, as an injected statement would."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from clinic import access_log
from clinic.db_context import apply_context
from clinic.encryption import encrypt_value
from clinic.models import AccessEvent
from clinic.staff import database_role_for
from records.models import BreakGlassGrant, ClinicalRecord
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    DisclosureFactory,
    PatientFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")


def inject(user, statement: str, params: list | None = None, *, then=()) -> int:
    """Rows changed by `statement` in `user`'s request (after which the statements `then` run
    in the same transaction); the database's error if it refuses, at the latest on commit."""
    with transaction.atomic(using="default"):
        apply_context(database_role_for(user), user.pk)
        with connections["default"].cursor() as cursor:
            cursor.execute(statement, params or [])
            changed = cursor.rowcount
            for more, more_params in then:
                cursor.execute(more, more_params)
    return changed


def logged(action: str, grant_id, patient_id) -> tuple[str, list]:
    """The access-log event the application writes with a grant's start, end or review."""
    return (
        "SELECT append_access_event(%s, %s, %s, NULL, '', '')",
        [action, patient_id, str(grant_id)],
    )


@pytest.fixture
def visit(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return ClinicalRecordFactory(patient=patient, provider=staff["clinician"])


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("provider_id = %(other)s", "never change"),
        ("patient_id = %(patient)s", "never change"),
        ("created_at = created_at - interval '1 year'", "never change"),
        ("version = version + 2, notes = notes", "version by one"),
        ("version = version", "version by one"),
        ("visit_date = DATE '2999-01-01', version = version + 1", "in the future"),
        ("diagnosis_code = 'ZZZZ', version = version + 1", "ICD-10-CM"),
        # Shaped like a code, but not in the code set / a category, not a billable code /
        # billable but not in the dotted form the application stores.
        ("diagnosis_code = 'A00.5', version = version + 1", "billable ICD-10-CM"),
        ("diagnosis_code = 'E11', version = version + 1", "billable ICD-10-CM"),
        ("diagnosis_code = 'J069', version = version + 1", "billable ICD-10-CM"),
        ("notes = 'Plaintext note', version = version + 1", "notes_form"),
    ],
)
def test_a_clinician_cannot_bend_their_own_visit(staff, visit, change, refusal):
    other_patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=other_patient)
    values = {"other": staff["clinician2"].pk, "patient": f"'{other_patient.pk}'"}
    with pytest.raises(DatabaseError, match=refusal):
        inject(
            staff["clinician"],
            f"UPDATE clinical_records SET {change % values} WHERE record_id = %s",  # noqa: S608
            [visit.pk],
        )
    stored = ClinicalRecord.objects.using("owner").get(pk=visit.pk)
    assert (stored.provider_id, stored.version, stored.notes) == (
        visit.provider_id,
        1,
        visit.notes,
    )


def test_the_application_changes_a_visit_within_the_rules(staff, visit):
    changed = inject(
        staff["clinician"],
        "UPDATE clinical_records SET visit_date = %s, version = version + 1 WHERE record_id = %s",
        [timezone.localdate(), visit.pk],
    )
    assert changed == 1


def test_a_visit_keeps_a_code_the_code_set_no_longer_lists(staff, visit):
    """Only a new or changed diagnosis is checked against the code set: a visit recorded under
    an earlier year's code set can still be corrected in its other fields."""
    ClinicalRecord.objects.using("owner").filter(pk=visit.pk).update(diagnosis_code="A00.5")
    changed = inject(
        staff["clinician"],
        "UPDATE clinical_records SET version = version + 1 WHERE record_id = %s",
        [visit.pk],
    )
    assert changed == 1
    with pytest.raises(DatabaseError, match="billable ICD-10-CM"):
        inject(
            staff["clinician"],
            "UPDATE clinical_records SET diagnosis_code = 'A00.6', version = version + 1"
            " WHERE record_id = %s",
            [visit.pk],
        )


def grant_insert(staff_id, patient_id, *, starts, hours, reason="emergency"):
    return (
        "INSERT INTO break_glass_grants (grant_id, staff_id, patient_id, reason_category,"
        " reason_text, starts_at, expires_at, review_comment)"
        " VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s)",
        [
            staff_id,
            patient_id,
            reason,
            encrypt_value("", "break_glass_grants.reason_text"),
            starts,
            starts + dt.timedelta(hours=hours),
            encrypt_value("", "break_glass_grants.review_comment"),
        ],
    )


@pytest.mark.parametrize(
    ("hours", "starts_ago", "reason", "refusal"),
    [
        (24 * 365 * 100, 0, "emergency", "at most"),
        (2, 24 * 30, "emergency", "starts now"),
        (2, 0, "boredom", "unknown reason"),
    ],
)
def test_a_clinician_cannot_write_a_grant_outside_the_rules(
    staff, hours, starts_ago, reason, refusal
):
    patient = PatientFactory()
    starts = timezone.now() - dt.timedelta(hours=starts_ago)
    statement, params = grant_insert(
        staff["clinician"].pk, patient.pk, starts=starts, hours=hours, reason=reason
    )
    with pytest.raises(DatabaseError, match=refusal):
        inject(staff["clinician"], statement, params)
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_an_ended_grant_cannot_be_reopened_or_extended(staff):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], ended_at=timezone.now())
    for change, refusal in (
        ("ended_at = NULL", "stays ended"),
        # The column grants refuse it before the write check would.
        ("expires_at = expires_at + interval '1 day'", "permission denied"),
    ):
        with pytest.raises(DatabaseError, match=refusal):
            inject(
                staff["clinician"],
                f"UPDATE break_glass_grants SET {change} WHERE grant_id = %s",  # noqa: S608
                [grant.pk],
            )


def test_a_grant_cannot_be_ended_in_the_future(staff):
    grant = BreakGlassGrantFactory(staff=staff["clinician"])
    with pytest.raises(DatabaseError, match="ends now"):
        inject(
            staff["clinician"],
            "UPDATE break_glass_grants SET ended_at = now() + interval '1 year'"
            " WHERE grant_id = %s",
            [grant.pk],
        )


def test_a_review_is_signed_by_the_reviewer_once(staff):
    grant = BreakGlassGrantFactory(staff=staff["clinician"])
    with pytest.raises(DatabaseError, match="signed by its reviewer"):
        inject(
            staff["privacy"],
            "UPDATE break_glass_grants SET reviewed_at = now(), reviewed_by_id = %s"
            " WHERE grant_id = %s",
            [staff["admin"].pk, grant.pk],
        )
    assert inject(
        staff["privacy"],
        "UPDATE break_glass_grants SET reviewed_at = now(), reviewed_by_id = %s"
        " WHERE grant_id = %s",
        [staff["privacy"].pk, grant.pk],
        then=[logged(access_log.BREAK_GLASS_REVIEWED, grant.pk, grant.patient_id)],
    )
    with pytest.raises(DatabaseError, match="review is final"):
        inject(
            staff["privacy"],
            "UPDATE break_glass_grants SET reviewed_at = now() WHERE grant_id = %s",
            [grant.pk],
        )


def test_a_grant_is_never_taken_without_its_access_log_event(staff):
    """A grant within every rule, inserted by raw SQL, is refused when the transaction commits
    unless the clinician's own start event for that grant is in the access log."""
    patient = PatientFactory()
    statement, params = grant_insert(
        staff["clinician"].pk, patient.pk, starts=timezone.now(), hours=2
    )
    other_grant = uuid.uuid4()
    for then in ([], [logged(access_log.BREAK_GLASS_STARTED, other_grant, patient.pk)]):
        with pytest.raises(DatabaseError, match="starts with its access-log event"):
            inject(staff["clinician"], statement, params, then=then)
    assert not BreakGlassGrant.objects.using("owner").exists()

    grant_id = uuid.uuid4()
    statement = statement.replace("gen_random_uuid()", f"'{grant_id}'")
    inject(
        staff["clinician"],
        statement,
        params,
        then=[logged(access_log.BREAK_GLASS_STARTED, grant_id, patient.pk)],
    )
    assert BreakGlassGrant.objects.using("owner").filter(pk=grant_id).exists()
    (event,) = AccessEvent.objects.using("owner").filter(object_id=str(grant_id))
    assert (event.staff_id, event.patient_id) == (staff["clinician"].pk, patient.pk)


@pytest.mark.parametrize("change", ["ended_at = now()", "reviewed_at = now(), reviewed_by_id = %s"])
def test_a_grant_is_never_ended_or_signed_off_without_its_event(staff, change):
    grant = BreakGlassGrantFactory(staff=staff["clinician"])
    who = staff["clinician"] if change.startswith("ended") else staff["privacy"]
    params = [who.pk] if "%s" in change else []
    with pytest.raises(DatabaseError, match="with its access-log event"):
        inject(
            who,
            f"UPDATE break_glass_grants SET {change} WHERE grant_id = %s",  # noqa: S608
            [*params, grant.pk],
        )
    stored = BreakGlassGrant.objects.using("owner").get(pk=grant.pk)
    assert (stored.ended_at, stored.reviewed_at) == (None, None)


def test_a_disclosure_is_recorded_in_the_callers_name(staff):
    disclosure = DisclosureFactory(patient=PatientFactory(), recorded_by=staff["privacy"])
    with pytest.raises(DatabaseError, match="recorded by the caller"):
        inject(
            staff["privacy"],
            "INSERT INTO disclosures (disclosure_id, disclosed_on, recipient, recipient_address,"
            " description, purpose, category, recorded_at, patient_id, recorded_by_id,"
            " suspension_kind, suspension_statement)"
            " SELECT gen_random_uuid(), disclosed_on, recipient, recipient_address, description,"
            " purpose, category, recorded_at, patient_id, %s, suspension_kind,"
            " suspension_statement FROM disclosures WHERE disclosure_id = %s",
            [staff["admin"].pk, disclosure.pk],
        )
    with pytest.raises(DatabaseError, match="suspension is recorded by the caller"):
        inject(
            staff["privacy"],
            "UPDATE disclosures SET suspended_until = %s, suspension_recorded_by_id = %s"
            " WHERE disclosure_id = %s",
            [timezone.localdate(), staff["admin"].pk, disclosure.pk],
        )


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("last_name = 'Plaintext'", "last_name_form"),
        ("ssn_bidx = 'not-a-digest'", "ssn_bidx_form"),
        ("birth_year = 1800", "birth_year"),
        ("birth_year = 2999", "birth_year"),
    ],
)
def test_the_front_desk_cannot_store_malformed_identities(staff, change, refusal):
    patient = PatientFactory()
    with pytest.raises(DatabaseError, match=refusal):
        inject(
            staff["frontdesk"],
            f"UPDATE patient_identities SET {change} WHERE patient_id = %s",  # noqa: S608
            [patient.pk],
        )
