"""What the database guarantees for restrictions (45 CFR 164.522(a)), proven with raw SQL on the
real cluster injected into a signed-in user's request: only the privacy officer records them
(decided by the caller, today), never refusing the out-of-pocket one; only the ending may change,
once, today, by the caller, and the clinic alone cannot end the out-of-pocket one; the front desk
and the clinicians who may see the patient read the category of the active ones, never the
detail; the analyst and the administrator read nothing; nobody deletes."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.utils import timezone

from clinic import roles
from clinic.encryption import encrypt_value
from rights.restriction_models import (
    AGREED,
    CLINIC_INFORMED,
    NAMED_PERSON,
    PATIENT_WRITTEN,
    REFUSED,
    SELF_PAY,
)
from tests.db_helpers import in_request, request_cursor, run_as
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    RestrictionFactory,
    StaffFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

INSERT = (
    "INSERT INTO restrictions (restriction_id, patient_id, received_on, category, detail,"
    " decision, decided_on, decided_by_id, ended_how, recorded_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', now()) RETURNING restriction_id"
)
END = (
    "UPDATE restrictions SET ended_on = %s, ended_by_id = %s, ended_how = %s"
    " WHERE restriction_id = %s"
)


def params(patient_id, decided_by, *, category=NAMED_PERSON, decision=AGREED, received=None,
           decided=None) -> list:  # fmt: skip
    today = timezone.localdate()
    return [
        str(uuid.uuid4()),
        str(patient_id),
        received or today,
        category,
        encrypt_value("Fake detail", "restrictions.detail"),
        decision,
        decided or today,
        decided_by.pk,
    ]


def run(user, statement: str, values: list | None = None) -> int:
    with request_cursor(user) as cursor:
        cursor.execute(statement, values or [])
        return cursor.rowcount


def test_privacy_officer_records_agreed_and_refused(staff, patient):
    for category, decision in ((NAMED_PERSON, REFUSED), (SELF_PAY, AGREED)):
        values = params(patient.pk, staff["privacy"], category=category, decision=decision)
        assert len(in_request(staff["privacy"], INSERT, values)) == 1


def test_the_out_of_pocket_restriction_cannot_be_refused(staff, patient):
    values = params(patient.pk, staff["privacy"], category=SELF_PAY, decision=REFUSED)
    with pytest.raises(DatabaseError, match="cannot be refused"):
        in_request(staff["privacy"], INSERT, values)


def test_decided_by_the_caller_today_and_not_received_in_the_future(staff, patient):
    other_officer = StaffFactory(username="t-privacy2", group=roles.PRIVACY_OFFICER)
    with pytest.raises(DatabaseError, match="decided by the caller"):
        in_request(staff["privacy"], INSERT, params(patient.pk, other_officer))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(DatabaseError, match="not received in the future"):
        in_request(
            staff["privacy"], INSERT, params(patient.pk, staff["privacy"], received=tomorrow)
        )
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(DatabaseError, match="decided today"):
        in_request(
            staff["privacy"], INSERT, params(patient.pk, staff["privacy"], decided=yesterday)
        )


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin"])
def test_other_roles_cannot_record_or_end(staff, patient, persona):
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff[persona], INSERT, params(patient.pk, staff[persona]))
    restriction = RestrictionFactory(patient=patient)
    today = timezone.localdate()
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff[persona], END, [today, staff[persona].pk, PATIENT_WRITTEN, str(restriction.pk)])


def test_only_the_ending_changes_once_today_by_the_caller(staff, patient):
    restriction = RestrictionFactory(patient=patient)
    today, officer, rid = timezone.localdate(), staff["privacy"], str(restriction.pk)
    with pytest.raises(DatabaseError, match="permission denied"):
        run(
            officer, "UPDATE restrictions SET decision = 'refused' WHERE restriction_id = %s", [rid]
        )
    with pytest.raises(DatabaseError, match="permission denied"):
        run(officer, "DELETE FROM restrictions WHERE restriction_id = %s", [rid])
    other_officer = StaffFactory(username="t-privacy2", group=roles.PRIVACY_OFFICER)
    with pytest.raises(DatabaseError, match="by the caller"):
        run(officer, END, [today, other_officer.pk, PATIENT_WRITTEN, rid])
    with pytest.raises(DatabaseError, match="today"):
        run(officer, END, [today - datetime.timedelta(days=1), officer.pk, PATIENT_WRITTEN, rid])
    with pytest.raises(DatabaseError, match="saying how"):
        run(officer, END, [today, officer.pk, "", rid])
    with request_cursor(officer) as cursor:
        cursor.execute(END, [today, officer.pk, PATIENT_WRITTEN, rid])
        assert cursor.rowcount == 1
        with pytest.raises(DatabaseError, match="never changes"):
            cursor.execute(END, [today, officer.pk, CLINIC_INFORMED, rid])


def test_a_refused_one_does_not_end_and_the_clinic_cannot_end_the_out_of_pocket_one(staff, patient):
    today, officer = timezone.localdate(), staff["privacy"]
    refused = RestrictionFactory(patient=patient, decision=REFUSED)
    with pytest.raises(DatabaseError, match="only an agreed restriction ends"):
        run(officer, END, [today, officer.pk, PATIENT_WRITTEN, str(refused.pk)])
    self_pay = RestrictionFactory(patient=patient, category=SELF_PAY)
    with pytest.raises(DatabaseError, match="cannot end the out-of-pocket"):
        run(officer, END, [today, officer.pk, CLINIC_INFORMED, str(self_pay.pk)])
    assert run(officer, END, [today, officer.pk, PATIENT_WRITTEN, str(self_pay.pk)]) == 1


COUNT = "SELECT count(*) FROM restrictions WHERE patient_id = %s"
CATEGORIES = "SELECT category FROM restrictions WHERE patient_id = %s"


def test_front_desk_reads_the_category_of_active_ones_never_the_detail(staff, patient):
    RestrictionFactory(patient=patient)
    RestrictionFactory(patient=patient, decision=REFUSED)
    RestrictionFactory(patient=patient, ended_on=timezone.localdate(),
                       ended_by=staff["privacy"], ended_how=PATIENT_WRITTEN)  # fmt: skip
    assert in_request(staff["frontdesk"], CATEGORIES, [str(patient.pk)]) == [(NAMED_PERSON,)]
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff["frontdesk"], "SELECT detail FROM restrictions", [])
    # The privacy officer reads all three, with the detail.
    assert in_request(staff["privacy"], COUNT, [str(patient.pk)]) == [(3,)]


def test_a_clinician_reads_them_only_for_patients_it_may_see(staff, patient):
    RestrictionFactory(patient=patient)
    clinician = staff["clinician"]
    assert in_request(clinician, COUNT, [str(patient.pk)]) == [(0,)]
    CareTeamMemberFactory(staff=clinician, patient=patient)
    assert in_request(clinician, CATEGORIES, [str(patient.pk)]) == [(NAMED_PERSON,)]
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(clinician, "SELECT detail FROM restrictions", [])
    other = staff["clinician2"]
    assert in_request(other, COUNT, [str(patient.pk)]) == [(0,)]
    BreakGlassGrantFactory(staff=other, patient=patient)
    assert in_request(other, COUNT, [str(patient.pk)]) == [(1,)]


@pytest.mark.parametrize("persona", ["analyst", "admin"])
def test_analyst_and_administrator_read_nothing(staff, patient, persona):
    RestrictionFactory(patient=patient)
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff[persona], "SELECT category FROM restrictions", [])


def test_a_switched_role_sees_and_writes_nothing(staff, patient):
    RestrictionFactory(patient=patient)
    with request_cursor(staff["frontdesk"], switch_to="clinic_privacy_officer") as cursor:
        cursor.execute("SELECT count(*) FROM restrictions")
        assert cursor.fetchone() == (0,)
        with pytest.raises(DatabaseError, match="row-level security"):
            cursor.execute(INSERT, params(patient.pk, staff["frontdesk"]))


@pytest.mark.parametrize("role", ["clinic_analyst", None])
def test_the_analyst_role_and_the_bare_web_login_read_nothing(patient, role):
    RestrictionFactory(patient=patient)
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(role, COUNT, [str(patient.pk)])


def test_the_detail_is_encrypted(patient):
    from django.db import connections

    restriction = RestrictionFactory(patient=patient, detail="Fake detail: sentinel-9b2e")
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT detail FROM restrictions WHERE restriction_id = %s", [str(restriction.pk)]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("v1:") and "sentinel-9b2e" not in stored
