"""rights/patient_facts.py: whether a patient's page has anything to show under the patient's
rights, asked in one statement, true exactly when the caller's own read would return a row (the
same query, the same row-level security), and asked once per request."""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import roles
from clinic.db_context import apply_context
from clinic.staff import database_role_for
from rights import patient_facts
from rights.restriction_services import active_restrictions, communication_in_force
from tests.factories import (
    CareTeamMemberFactory,
    ConfidentialCommunicationFactory,
    PatientFactory,
    RestrictionFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")


def ask(user, patient_id) -> tuple[dict[str, bool], int, dict[str, int]]:
    """The facts in `user`'s request, the statements they took, and the row counts of the
    reads themselves in the same transaction."""
    request = RequestFactory().get("/")
    request.user = user
    with transaction.atomic(using="default"):
        apply_context(database_role_for(user), user.pk)
        with CaptureQueriesContext(connections["default"]) as queries:
            facts = patient_facts.facts(request, patient_id)
            assert patient_facts.facts(request, patient_id) == facts  # remembered
        read = {
            patient_facts.RESTRICTIONS: lambda: len(active_restrictions(patient_id)),
            patient_facts.CONFIDENTIAL: lambda: int(
                communication_in_force(patient_id, with_contact=False) is not None
            ),
            patient_facts.DENIED_CHART_REQUESTS: lambda: patient_facts.denied_chart_requests(
                patient_id
            ).count(),
        }
        # Only the reads the role makes (the others it may not run at all).
        reads = {fact: how() for fact, how in read.items() if fact in facts}
        transaction.set_rollback(True, using="default")
    return facts, len(queries.captured_queries), reads


def test_nothing_to_show_is_one_statement_of_false(staff):
    patient = PatientFactory()
    facts, statements, _ = ask(staff["frontdesk"], patient.pk)
    assert statements == 1
    assert facts == {
        patient_facts.RESTRICTIONS: False,
        patient_facts.CONFIDENTIAL: False,
        patient_facts.AMENDMENT_ENTRIES: False,
    }


def test_each_fact_is_true_when_its_read_returns_a_row(staff):
    patient = PatientFactory()
    RestrictionFactory(patient=patient)
    ConfidentialCommunicationFactory(patient=patient)
    facts, _, reads = ask(staff["frontdesk"], patient.pk)
    assert facts[patient_facts.RESTRICTIONS] and reads[patient_facts.RESTRICTIONS] == 1
    assert facts[patient_facts.CONFIDENTIAL] and reads[patient_facts.CONFIDENTIAL] == 1
    assert not facts[patient_facts.AMENDMENT_ENTRIES]


def test_a_clinician_is_told_only_what_row_level_security_lets_it_read(staff):
    """The restriction and the confidential communications exist, but this clinician may not
    see the patient: the database hides the rows from the read and from the fact alike."""
    patient = PatientFactory()
    RestrictionFactory(patient=patient)
    ConfidentialCommunicationFactory(patient=patient)
    outside, statements, reads = ask(staff["clinician2"], patient.pk)
    assert statements == 1
    assert not any(outside.values()), outside
    assert not any(reads.values()), reads
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    inside, _, reads = ask(staff["clinician2"], patient.pk)
    for fact in (patient_facts.RESTRICTIONS, patient_facts.CONFIDENTIAL):
        assert inside[fact] and reads[fact] == 1, (fact, inside, reads)


def test_a_role_shown_none_of_them_sends_no_statement(staff):
    patient = PatientFactory()
    RestrictionFactory(patient=patient)
    facts, statements, _ = ask(staff["analyst"], patient.pk)
    assert facts == {} and statements == 0


@pytest.mark.parametrize("group", sorted(patient_facts.ASKED))
def test_the_compiled_statement_is_the_queries_own_for_the_patient(group):
    """Compiled once per process (the ORM build cost 1.2-2.7 ms of each patient page): the same
    SQL as building the reads' queries now for a real patient, with that patient's id in each
    of its places and the same constants elsewhere."""
    import uuid

    patient_id = uuid.uuid4()
    statement = patient_facts._statement(group)
    parts, params = [], []
    for fact in patient_facts.ASKED[group]:
        query = patient_facts.QUERIES[fact](patient_id, group)
        built, values = query.values("pk").query.sql_with_params()
        parts.append(f"EXISTS ({built})")
        params.extend(values)
    assert statement.sql == "SELECT " + ", ".join(parts)
    assert statement.params(patient_id) == params


# The pages that read the facts with the patient's own row: the chart (chart/access.py); the
# patient summary, the visit list, the visit form and the care team (patients/access.py
# `read_patient`).
PAGES_WITH_THE_FACTS = [
    ("clinician", "chart:summary"),
    ("clinician", "patients:detail"),
    ("frontdesk", "patients:detail"),
    ("clinician", "records:visit-list"),
    ("frontdesk", "records:visit-list"),
    ("clinician", "records:visit-new"),
    ("clinician", "records:care-team"),
    ("frontdesk", "records:care-team"),
]


def page(client_for, user, patient, url_name):
    with CaptureQueriesContext(connections["default"]) as queries:
        response = client_for(user).get(reverse(url_name, args=[patient.pk]))
    assert response.status_code == 200
    asked_alone = [q["sql"] for q in queries.captured_queries if "restrictions" in q["sql"]]
    return response.content.decode(), asked_alone


@pytest.mark.parametrize(("persona", "url_name"), PAGES_WITH_THE_FACTS)
def test_the_page_asks_the_facts_with_the_patient_and_shows_what_they_say(
    staff, client_for, persona, url_name
):
    """The page reads the caller's facts in its own read of the patient: no statement of their
    own, and the banner still shows an agreed restriction."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    body, asked = page(client_for, staff[persona], patient, url_name)
    assert "Restriction agreed" not in body
    assert len(asked) == 1 and asked[0].startswith("SELECT ")  # the patient's own read
    assert 'FROM "patient_identities"' in asked[0]
    RestrictionFactory(patient=patient)
    body, asked = page(client_for, staff[persona], patient, url_name)
    assert "Restriction agreed" in body
    assert len(asked) == 2  # the patient's read, then the banner's own read of the restriction


def read_with_the_chart(request, patient_id) -> None:
    """The chart's read of the patient (chart/access.py), then what the page does with it."""
    from chart.access import _CHART_PATIENT

    (row,) = _CHART_PATIENT(patient_id)
    patient_facts.remember(request, patient_id, roles.CLINICIAN, row)


def read_with_read_patient(request, patient_id) -> None:
    """The summary's, the visit list's... read (patients/access.py), which remembers them."""
    from patients.access import read_patient

    assert read_patient(request, patient_id, None, with_facts=True) is not None


@pytest.mark.parametrize(
    ("persona", "read"),
    [
        ("clinician", read_with_the_chart),
        ("clinician", read_with_read_patient),
        ("frontdesk", read_with_read_patient),
    ],
)
@pytest.mark.parametrize("with_rows", [False, True])
def test_the_facts_read_with_the_patient_are_the_facts(staff, persona, read, with_rows):
    """The facts read with the patient's row give the same answers as `facts()`'s own
    statement, for each fact the caller's group is asked."""
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    if with_rows:
        RestrictionFactory(patient=patient)
        ConfidentialCommunicationFactory(patient=patient)
    user = staff[persona]
    request = RequestFactory().get("/")
    request.user = user
    with transaction.atomic(using="default"):
        apply_context(database_role_for(user), user.pk)
        read(request, patient.pk)
        remembered = patient_facts.facts(request, patient.pk)
        group = roles.CLINICIAN if persona == "clinician" else roles.FRONT_DESK
        asked = patient_facts._ask(group, patient.pk)
        transaction.set_rollback(True, using="default")
    assert remembered == asked
    assert remembered[patient_facts.RESTRICTIONS] is with_rows
    assert remembered[patient_facts.CONFIDENTIAL] is with_rows
