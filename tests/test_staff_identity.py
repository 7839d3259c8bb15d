"""The staff identity the database uses cannot be chosen by SQL on the connection
(clinic/staff_identity.py). Every attack runs the attacker's SQL on the web login's connection,
inside a real request context, as an injected statement would."""

from __future__ import annotations

import time

import pytest
from django.db import DatabaseError, connections, transaction

from clinic import roles
from clinic.db_context import apply_context
from clinic.models import AccessEvent
from clinic.staff_identity import mint
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]


@pytest.fixture
def two_panels(staff):
    """Each clinician has one patient with one visit; neither sees the other's."""
    mine, theirs = PatientFactory(), PatientFactory()
    for clinician, patient in ((staff["clinician"], mine), (staff["clinician2"], theirs)):
        CareTeamMemberFactory(staff=clinician, patient=patient)
        ClinicalRecordFactory(patient=patient, provider=clinician)
    return mine, theirs


def as_clinician(staff, sql: str, params: list | None = None):
    """Run `sql` after the real context of clinician 1's request; return the visible patients."""
    with transaction.atomic(using="default"):
        apply_context(CLINICIAN, staff["clinician"].pk)
        with connections["default"].cursor() as cursor:
            cursor.execute(sql, params or [])
            cursor.execute("SELECT clinic_staff_id(), patient_id FROM clinical_records")
            rows = cursor.fetchall()
        transaction.set_rollback(True, using="default")
    return rows


def test_a_request_sees_its_own_verified_identity(staff, two_panels):
    mine, _theirs = two_panels
    assert as_clinician(staff, "SELECT 1") == [(staff["clinician"].pk, mine.pk)]


def test_setting_a_colleagues_id_by_hand_shows_nothing_of_theirs(staff, two_panels):
    colleague = staff["clinician2"].pk
    # The earlier design's setting is gone; a forged token does not verify.
    assert as_clinician(staff, "SELECT set_config('app.user_id', %s, true)", [str(colleague)]) == [
        (staff["clinician"].pk, two_panels[0].pk)
    ]
    forged = f"{colleague}.{CLINICIAN}.{int(time.time()) + 600}.{'0' * 64}"
    assert as_clinician(staff, "SELECT set_config('app.staff_token', %s, true)", [forged]) == []


def test_a_token_cannot_be_edited_to_another_id_or_role(staff, two_panels):
    own = mint(staff["clinician"].pk, CLINICIAN)
    staff_id, role, expiry, mac = own.split(".")
    for edited in (
        f"{staff['clinician2'].pk}.{role}.{expiry}.{mac}",
        f"{staff_id}.clinic_privacy_officer.{expiry}.{mac}",
        f"{staff_id}.{role}.{int(expiry) + 3600}.{mac}",
    ):
        assert as_clinician(staff, "SELECT set_config('app.staff_token', %s, true)", [edited]) == []


@pytest.mark.parametrize(
    "label",
    ["staff:{other}/clinic_clinician", "staff:{me}/clinic_privacy_officer", "clinic", ""],
)
def test_a_statement_relabelled_in_the_log_loses_its_identity(staff, two_panels, label):
    """The log lines' `app=` (application_name) must name the token's staff id and role, or the
    token does not verify: injected SQL cannot read PHI under another person's name in the
    server log."""
    label = label.format(me=staff["clinician"].pk, other=staff["clinician2"].pk)
    assert as_clinician(staff, "SELECT set_config('application_name', %s, true)", [label]) == []


def test_an_expired_token_does_not_verify(staff, two_panels):
    old = mint(staff["clinician"].pk, CLINICIAN, now=time.time() - 3600)
    assert as_clinician(staff, "SELECT set_config('app.staff_token', %s, true)", [old]) == []


@pytest.mark.parametrize("role", [None, *roles.GROUP_ROLES.values(), roles.SIGNED_IN_ROLE])
def test_no_application_role_reads_the_key(staff, role):
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="default"):
            apply_context(role, staff["admin"].pk)
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT key FROM staff_token_key")


def test_an_injected_access_log_event_is_written_in_the_callers_name(staff):
    with transaction.atomic(using="default"):
        apply_context(CLINICIAN, staff["clinician"].pk)
        with connections["default"].cursor() as cursor:
            # The earlier signature took a staff id and role: it no longer exists.
            with pytest.raises(DatabaseError, match="does not exist"), transaction.atomic():
                cursor.execute(
                    "SELECT append_access_event(%s, 'clinic_privacy_officer', 'chart_viewed',"
                    " NULL, '', NULL, 'ok', '')",
                    [staff["privacy"].pk],
                )
            cursor.execute(
                "SELECT append_access_event('chart_viewed', NULL, 'probe', NULL, 'ok', '')"
            )
    event = AccessEvent.objects.using("owner").get(object_id="probe")
    assert (event.staff_id, event.role) == (staff["clinician"].pk, CLINICIAN)


def test_without_a_token_an_event_is_anonymous(staff):
    with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
        cursor.execute("SELECT append_access_event('sign_in_failed', NULL, 'probe', NULL, 'x', '')")
    event = AccessEvent.objects.using("owner").get(object_id="probe")
    assert (event.staff_id, event.role) == (None, "anonymous")
