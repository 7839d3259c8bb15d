"""What the database guarantees for amendments of chart entries and demographic fields (45 CFR
164.526), proven with raw SQL injected into a signed-in user's request on the real cluster:
a request names exactly one target, of its own patient, routed to who recorded the entry (a
demographic field to nobody: the privacy officer decides); only that person decides (the privacy
officer a demographic field, never a chart entry); acceptance needs the decider's own amendment
entry for that very item; an entry answers an open request routed to its writer; entries are
append-only; the front desk and the analyst cannot read a chart entry's amendment."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.utils import timezone

from clinic.encryption import encrypt_value
from rights.amendment_models import AmendmentEntry
from tests.db_helpers import in_request, request_cursor
from tests.factories import (
    AllergyFactory,
    AmendmentRequestFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    PatientFactory,
    ProblemFactory,
    deny_amendment,
)

pytestmark = pytest.mark.usefixtures("clinic_db")

INSERT = (
    "INSERT INTO amendment_requests (amendment_id, patient_id, target_kind, problem_id,"
    " allergy_id, demographic_field, received_on, received_how, recorded_by_id, requested,"
    " routed_to_id, due_on, outcome, denial_ground, recorded_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, 'mail', %s, %s, %s, %s, 'open', '', now())"
    " RETURNING amendment_id"
)
ENTRY = (
    "INSERT INTO amendment_entries (entry_id, amendment_id, patient_id, target_kind, problem_id,"
    " allergy_id, medication_id, vitals_id, demographic_field, author_id, text, created_at)"
    " VALUES (%s, %s, %s, %s, %s, NULL, NULL, NULL, %s, %s, %s, now())"
)
ACCEPT = (
    "UPDATE amendment_requests SET outcome = 'accepted', decided_on = %s, decided_by_id = %s"
    " WHERE amendment_id = %s"
)


def request_values(
    patient, officer, *, kind="problem", problem=None, allergy=None, field="", routed_to=None
) -> list:
    received = timezone.localdate()
    return [
        str(uuid.uuid4()),
        str(patient.pk),
        kind,
        str(problem.pk) if problem else None,
        str(allergy.pk) if allergy else None,
        field,
        received,
        officer.pk,
        encrypt_value("Fake request", "amendment_requests.requested"),
        routed_to.pk if routed_to else None,
        received + datetime.timedelta(days=60),
    ]


def run(user, statement: str, values: list) -> int:
    with request_cursor(user) as cursor:
        cursor.execute(statement, values)
        return cursor.rowcount


@pytest.fixture
def problem(staff):
    """A problem recorded by `clinician`, whose patient is on `clinician`'s care team."""
    problem = ProblemFactory(recorded_by=staff["clinician"])
    CareTeamMemberFactory(staff=staff["clinician"], patient=problem.patient)
    return problem


def chart_request(problem, **extra):
    return AmendmentRequestFactory(
        record=None,
        patient=problem.patient,
        target_kind="problem",
        problem=problem,
        routed_to=problem.recorded_by,
        **extra,
    )


def entry_values(amendment, author, *, problem=None, kind="problem", field="") -> list:
    return [
        str(uuid.uuid4()),
        str(amendment.pk),
        str(amendment.patient_id),
        kind,
        str(problem.pk) if problem else None,
        field,
        author.pk,
        encrypt_value("Fake amendment", "amendment_entries.text"),
    ]


def test_a_chart_entry_is_routed_to_who_recorded_it(staff, problem):
    officer = staff["privacy"]
    values = request_values(problem.patient, officer, problem=problem, routed_to=staff["clinician"])
    assert len(in_request(officer, INSERT, values)) == 1
    with pytest.raises(DatabaseError, match="routed to its recorder"):
        in_request(
            officer,
            INSERT,
            request_values(
                problem.patient, officer, problem=problem, routed_to=staff["clinician2"]
            ),
        )


def test_a_target_of_another_patient_is_refused(staff, problem):
    officer = staff["privacy"]
    stranger = PatientFactory()
    with pytest.raises(DatabaseError, match="chart entry of the same patient"):
        in_request(
            officer,
            INSERT,
            request_values(stranger, officer, problem=problem, routed_to=staff["clinician"]),
        )


def test_exactly_one_target_of_its_kind(staff, problem):
    officer = staff["privacy"]
    allergy = AllergyFactory(patient=problem.patient, recorded_by=staff["clinician"])
    for values in (
        # two targets
        request_values(
            problem.patient, officer, problem=problem, allergy=allergy, routed_to=staff["clinician"]
        ),
        # a demographic field and a chart entry at once
        request_values(problem.patient, officer, kind="demographic", problem=problem,
                       field="address"),
        # a field that is no demographic field
        request_values(problem.patient, officer, kind="demographic", field="mrn"),
    ):  # fmt: skip
        with pytest.raises(DatabaseError, match="amendment_request_target"):
            in_request(officer, INSERT, values)


def test_a_demographic_field_is_routed_to_nobody(staff, problem):
    officer = staff["privacy"]
    fine = request_values(problem.patient, officer, kind="demographic", field="address")
    assert len(in_request(officer, INSERT, fine)) == 1
    routed = request_values(
        problem.patient, officer, kind="demographic", field="address", routed_to=staff["clinician"]
    )
    with pytest.raises(DatabaseError, match="privacy officer decides"):
        in_request(officer, INSERT, routed)


def test_only_the_routed_clinician_decides_a_chart_entry(staff, problem):
    amendment = chart_request(problem)
    today = timezone.localdate()
    deny = (
        "UPDATE amendment_requests SET outcome = 'denied', denial_ground = 'accurate',"
        " denial_reason = %s, decided_on = %s, decided_by_id = %s WHERE amendment_id = %s"
    )
    reason = encrypt_value("Fake reason", "amendment_requests.denial_reason")
    # The privacy officer may decide demographic fields only.
    with pytest.raises(DatabaseError, match="decided by the author it was routed to"):
        run(staff["privacy"], deny, [reason, today, staff["privacy"].pk, str(amendment.pk)])
    # Another clinician sees no such row.
    assert (
        run(staff["clinician2"], deny, [reason, today, staff["clinician2"].pk, str(amendment.pk)])
        == 0
    )
    assert (
        run(staff["clinician"], deny, [reason, today, staff["clinician"].pk, str(amendment.pk)])
        == 1
    )


def test_acceptance_needs_the_deciders_own_entry_for_that_item(staff, problem):
    amendment = chart_request(problem)
    author, today = staff["clinician"], timezone.localdate()
    with pytest.raises(DatabaseError, match="amendment entry for the item"):
        run(author, ACCEPT, [today, author.pk, str(amendment.pk)])
    history = "SELECT count(*), max(p.updated_at) FROM chart_history h, chart_problems p"
    history += " WHERE h.item_id = %s AND p.problem_id = %s"
    with request_cursor(author) as cursor:
        cursor.execute(history, [str(problem.pk)] * 2)
        before = cursor.fetchone()
        cursor.execute(ENTRY, entry_values(amendment, author, problem=problem))
        cursor.execute(ACCEPT, [today, author.pk, str(amendment.pk)])
        assert cursor.rowcount == 1
        # The problem itself is untouched by the whole decision: no new version, same row.
        cursor.execute(history, [str(problem.pk)] * 2)
        assert cursor.fetchone() == before


def test_an_entry_answers_an_open_request_routed_to_its_writer(staff, problem):
    amendment = chart_request(problem)
    other_problem = ProblemFactory(patient=problem.patient, recorded_by=staff["clinician"])
    # Another item of the same patient: refused.
    with pytest.raises(DatabaseError, match="open request for that item"):
        run(staff["clinician"], ENTRY,
            entry_values(amendment, staff["clinician"], problem=other_problem))  # fmt: skip
    # Written as someone else: refused.
    with pytest.raises(DatabaseError, match="written by the caller"):
        run(
            staff["clinician"], ENTRY, entry_values(amendment, staff["clinician2"], problem=problem)
        )
    # A clinician the request is not routed to (not seeing the patient either): refused.
    with pytest.raises(DatabaseError, match="row-level security|open request for that item"):
        run(
            staff["clinician2"],
            ENTRY,
            entry_values(amendment, staff["clinician2"], problem=problem),
        )
    # The privacy officer may not write a chart entry's amendment.
    with pytest.raises(DatabaseError, match="open request for that item"):
        run(staff["privacy"], ENTRY, entry_values(amendment, staff["privacy"], problem=problem))


def test_the_privacy_officer_decides_a_demographic_field_with_its_entry(staff, problem):
    officer, today = staff["privacy"], timezone.localdate()
    amendment = AmendmentRequestFactory(
        record=None, patient=problem.patient, target_kind="demographic",
        demographic_field="address", routed_to=None,
    )  # fmt: skip
    # A clinician cannot write it or decide it.
    with pytest.raises(DatabaseError, match="open request for that item"):
        values = entry_values(amendment, staff["clinician"], kind="demographic", field="address")
        run(staff["clinician"], ENTRY, values)
    assert run(staff["clinician"], ACCEPT, [today, staff["clinician"].pk, str(amendment.pk)]) == 0
    with request_cursor(officer) as cursor:
        cursor.execute(ENTRY, entry_values(amendment, officer, kind="demographic", field="address"))
        cursor.execute(ACCEPT, [today, officer.pk, str(amendment.pk)])
        assert cursor.rowcount == 1


def test_entries_are_append_only_and_chart_ones_hidden_from_front_desk_and_analyst(staff, problem):
    amendment = chart_request(problem)
    author = staff["clinician"]
    AmendmentEntry.objects.using("owner").create(
        amendment=amendment, patient=problem.patient, target_kind="problem", problem=problem,
        author=author, text="Fake amendment: sentinel-entry",
    )  # fmt: skip
    assert in_request(author, "SELECT count(*) FROM amendment_entries") == [(1,)]
    assert in_request(staff["frontdesk"], "SELECT count(*) FROM amendment_entries") == [(0,)]
    for persona in ("analyst", "admin"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], "SELECT count(*) FROM amendment_entries")
    for persona in ("frontdesk", "analyst"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], "SELECT count(*) FROM amendment_requests")
    for statement in (
        "UPDATE amendment_entries SET text = text",
        "DELETE FROM amendment_entries",
    ):
        for persona in ("clinician", "privacy"):
            with pytest.raises(DatabaseError, match="permission denied"):
                in_request(staff[persona], statement)


def test_entries_and_denied_requests_follow_the_care_team_rule(staff, problem):
    """`amendment_entries` and the denied chart requests of `amendment_requests` ask the
    clinical record's rule per row, through `clinic_clinician_may_see()`: a clinician off the
    patient's care team reads neither (the request is not routed to it), one under break the
    glass reads both."""
    amendment = chart_request(problem)
    AmendmentEntry.objects.using("owner").create(
        amendment=amendment, patient=problem.patient, target_kind="problem", problem=problem,
        author=staff["clinician"], text="Fake amendment: sentinel-entry",
    )  # fmt: skip
    other = chart_request(problem)
    deny_amendment(other, staff["clinician"])
    entries = "SELECT count(*) FROM amendment_entries"
    denied = "SELECT count(*) FROM amendment_requests WHERE outcome = 'denied'"
    assert in_request(staff["clinician"], entries) == [(1,)]
    assert in_request(staff["clinician"], denied) == [(1,)]
    assert in_request(staff["clinician2"], entries) == [(0,)]
    assert in_request(staff["clinician2"], denied) == [(0,)]
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=problem.patient)
    assert in_request(staff["clinician2"], entries) == [(1,)]
    assert in_request(staff["clinician2"], denied) == [(1,)]
