"""Issue 16, item 10: the privacy officer finds a patient's accesses by last name and date of
birth, SSN or MRN (POSTed, through the blind indexes), and sorts the access log and the access
report by any listed column from a fixed allow-list (ONC 170.315(d)(3))."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from clinic import access_log
from tests.db_helpers import request_cursor
from tests.factories import PatientFactory
from tests.privacy_helpers import append, events

pytestmark = pytest.mark.usefixtures("clinic_db")
FIND = "/privacy/patients/find/"
TYPED = "Zzlookupname"


@pytest.fixture
def patient():
    return PatientFactory(last_name=TYPED, ssn="900-55-0101")


def by_name(patient) -> dict:
    return {
        "mode": "last_name_dob",
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
    }


@pytest.mark.parametrize(
    "query",
    [
        by_name,
        lambda p: {"mode": "ssn", "ssn": p.ssn},
        lambda p: {"mode": "ssn", "ssn": p.ssn.replace("-", "")},
        lambda p: {"mode": "mrn", "mrn": p.mrn},
    ],
    ids=["name-and-birth-date", "ssn", "ssn-digits", "mrn"],
)
def test_one_match_opens_the_patients_access_report(client_for, staff, patient, query):
    PatientFactory(last_name="Testother", ssn="900-55-0102")
    response = client_for(staff["privacy"]).post(FIND, query(patient))
    assert response.status_code == 302
    assert response["Location"] == f"/privacy/patients/{patient.pk}/"
    [searched] = events(access_log.PATIENT_SEARCH)
    assert searched.patient_id == patient.pk and searched.staff_id == staff["privacy"].pk
    assert searched.reason == query(patient)["mode"]


def test_several_matches_are_listed_with_name_and_mrn_only(client_for, staff, patient):
    twin = PatientFactory(last_name=TYPED, first_name="Testtwin", ssn="900-55-0103")
    response = client_for(staff["privacy"]).post(FIND, by_name(patient))
    assert response.status_code == 200
    body = response.content.decode()
    for match in (patient, twin):
        assert f"/privacy/patients/{match.pk}/" in body
        assert match.mrn in body
    assert patient.ssn not in body and "900-55" not in body
    assert {e.patient_id for e in events(access_log.PATIENT_SEARCH)} == {patient.pk, twin.pk}


def test_no_match_says_so_and_is_logged_without_what_was_typed(client_for, staff, patient):
    client = client_for(staff["privacy"])
    response = client.post(FIND, {**by_name(patient), "last_name": "Zznobody"}, follow=True)
    assert b"No patient matches" in response.content
    [searched] = events(access_log.PATIENT_SEARCH)
    assert (searched.patient_id, searched.outcome) == (None, "no_match")
    for event in events():
        assert "Zznobody" not in " ".join(str(v) for v in vars(event).values())


@pytest.mark.parametrize(
    "query,message",
    [
        ({"mode": "ssn", "ssn": "12-34"}, b"Enter the SSN"),
        ({"mode": "last_name_dob", "last_name": TYPED}, b"required for this search"),
        ({"mode": "phone", "phone": "202-555-0100"}, b"Choose one of the look-ups"),
    ],
)
def test_bad_input_is_explained_on_the_form_and_nothing_is_logged(
    client_for, staff, patient, query, message
):
    response = client_for(staff["privacy"]).post(FIND, query)
    assert response.status_code == 400
    assert message in response.content
    assert events(access_log.PATIENT_SEARCH) == []


def test_the_look_up_is_posted_only(client_for, staff, patient):
    assert client_for(staff["privacy"]).get(FIND, by_name(patient)).status_code == 405


def test_the_privacy_officer_reads_blind_indexes_but_not_the_identifiers(staff, patient):
    """The new column rights are the keyed hashes only; the SSN and birth date stay refused."""
    with request_cursor(staff["privacy"]) as cursor:
        cursor.execute(
            "SELECT count(*) FROM patient_identities WHERE ssn_bidx IS NOT NULL "
            "AND last_name_dob_bidx IS NOT NULL"
        )
        assert cursor.fetchone()[0] >= 1
    for column in ("ssn", "date_of_birth", "phone", "address"):
        with pytest.raises(DatabaseError, match="permission denied"):
            with request_cursor(staff["privacy"]) as cursor:
                cursor.execute(f"SELECT {column} FROM patient_identities")  # noqa: S608


# --- sorting ---------------------------------------------------------------------------------


@pytest.fixture
def three_events(staff, patient):
    append(staff["clinician2"].pk, access_log.RECORD_VIEWED, patient.pk)
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["frontdesk"].pk, access_log.IDENTIFIER_REVEALED, patient.pk)
    return patient


def test_the_access_log_sorts_by_a_column_and_reverses_on_a_second_click(
    client_for, staff, three_events
):
    client = client_for(staff["privacy"])
    query = {"patient_id": str(three_events.pk)}
    newest_first = client.post("/privacy/access-log/", query)
    ids = [e.id for e in newest_first.context["page"]]
    assert ids == sorted(ids, reverse=True)
    by_action = client.post("/privacy/access-log/", {**query, "sort_by": "action"})
    actions = [e.action for e in by_action.context["page"]]
    assert actions == sorted(actions)
    header = next(h for h in by_action.context["headers"] if h.key == "action")
    assert (header.aria_sort, header.next_sort) == ("ascending", "-action")
    assert b'aria-sort="ascending"' in by_action.content
    reversed_ = client.post(
        "/privacy/access-log/", {**query, "sort": "action", "sort_by": "-action"}
    )
    # (Each search is itself logged with the patient, so the list grows between searches.)
    again = [e.action for e in reversed_.context["page"]]
    assert again == sorted(again, reverse=True) and again != sorted(again)
    # Paging keeps the sort (the hidden field), and a column click goes back to page 1.
    kept = client.post("/privacy/access-log/", {**query, "sort": "staff", "page": "1"})
    staff_ids = [e.staff_id for e in kept.context["page"]]
    assert staff_ids == sorted(staff_ids)


@pytest.mark.parametrize("sort", ["hash", "-prev_hash", "occurred_at; DROP TABLE x", "reason"])
def test_a_sort_outside_the_allow_list_falls_back_to_newest_first(
    client_for, staff, three_events, sort
):
    client = client_for(staff["privacy"])
    response = client.post(
        "/privacy/access-log/", {"patient_id": str(three_events.pk), "sort_by": sort}
    )
    assert response.status_code == 200
    assert response.context["sort"] == "-when"
    ids = [e.id for e in response.context["page"]]
    assert ids == sorted(ids, reverse=True)


def test_the_access_report_sorts_by_staff_and_action(client_for, staff, three_events):
    client = client_for(staff["privacy"])
    url = f"/privacy/patients/{three_events.pk}/"
    by_staff = client.get(url, {"sort": "staff"})
    staff_ids = [row.event.staff_id for row in by_staff.context["rows"]]
    assert staff_ids == sorted(staff_ids)
    by_action = client.get(url, {"sort": "-action"})
    actions = [row.event.action for row in by_action.context["rows"]]
    assert actions == sorted(actions, reverse=True)
    assert b'aria-sort="descending"' in by_action.content
    unknown = client.get(url, {"sort": "basis"})
    ids = [row.event.id for row in unknown.context["rows"]]
    assert ids == sorted(ids, reverse=True)
