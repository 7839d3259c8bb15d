"""Patient search: POST only, blind indexes for each mode, masked results, logged by kind."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.urls import reverse

from clinic import access_log
from tests.factories import PatientFactory
from tests.patient_support import access_events, access_log_text
from tests.privacy_helpers import without_tokens

pytestmark = pytest.mark.usefixtures("clinic_db")
URL = reverse("patients:search")


def search(client, **data):
    return client.post(URL, data)


@pytest.fixture
def patient(staff):
    return PatientFactory(
        last_name="O'Brien",
        ssn="900-00-0001",
        phone="(202) 555-0143",
        date_of_birth=date(1975, 1, 2),
    )


def test_front_desk_sees_the_search_form(client_for, staff):
    response = client_for(staff["frontdesk"]).get(URL)
    assert response.status_code == 200
    assert b"Find a patient" in response.content
    assert b'method="post"' in response.content


def test_last_name_and_birth_date_search_normalises_the_name(client_for, staff, patient):
    response = search(
        client_for(staff["frontdesk"]),
        mode="last_name_dob",
        last_name="  o\u2019brien ",
        date_of_birth="1975-01-02",
    )
    assert response.status_code == 200
    assert response.context["results"] == [patient]


def test_lower_case_name_finds_the_mixed_case_patient(client_for, staff):
    lower = PatientFactory(last_name="o'brien", ssn="900-00-0002", date_of_birth=date(1975, 1, 2))
    response = search(
        client_for(staff["clinician"]),
        mode="last_name_dob",
        last_name="O'Brien ",
        date_of_birth="1975-01-02",
    )
    assert response.context["results"] == [lower]


def test_same_name_other_birth_date_is_not_found(client_for, staff, patient):
    response = search(
        client_for(staff["frontdesk"]),
        mode="last_name_dob",
        last_name="O'Brien",
        date_of_birth="1975-01-03",
    )
    assert response.context["results"] == []
    assert b"No patient matches" in response.content


@pytest.mark.parametrize("ssn", ["900-00-0001", "900000001", " 900-00-0001 "])
def test_ssn_search_accepts_either_format(client_for, staff, patient, ssn):
    response = search(client_for(staff["frontdesk"]), mode="ssn", ssn=ssn)
    assert response.context["results"] == [patient]


def test_mrn_search_finds_the_patient(client_for, staff, patient):
    response = search(client_for(staff["clinician"]), mode="mrn", mrn=patient.mrn)
    assert response.context["results"] == [patient]


@pytest.mark.parametrize("phone", ["202-555-0143", "2025550143", "+1 (202) 555-0143"])
def test_phone_search_ignores_formatting(client_for, staff, patient, phone):
    response = search(client_for(staff["frontdesk"]), mode="phone", phone=phone)
    assert response.context["results"] == [patient]


def test_results_show_masked_identifiers_and_birth_year_only(client_for, staff, patient):
    response = search(client_for(staff["frontdesk"]), mode="ssn", ssn="900-00-0001")
    body = response.content.decode()
    assert "***-**-0001" in body
    assert "900-00-0001" not in body
    assert "(***) ***-0143" in body
    assert "555-0143" not in body.replace("***-0143", "")
    assert "1975" in body
    assert "1975-01-02" not in body
    assert patient.mrn in body
    assert reverse("patients:detail", kwargs={"patient_id": patient.pk}) in body


def test_search_logs_the_kind_of_search_never_the_terms(client_for, staff, patient):
    client = client_for(staff["frontdesk"])
    response = search(client, mode="last_name_dob", last_name="O'Brien", date_of_birth="1975-01-02")
    search(client, mode="ssn", ssn="900-00-0001")
    search(client, mode="phone", phone="202-555-0199")
    events = access_events(access_log.PATIENT_SEARCH)
    assert [(e["reason"], e["outcome"]) for e in events] == [
        ("last_name_dob", "ok"),
        ("ssn", "ok"),
        ("phone", "no_match"),
    ]
    assert events[0]["patient_id"] == patient.pk
    assert events[0]["staff_id"] == staff["frontdesk"].pk
    logged = access_log_text().lower()
    for term in ("o'brien", "brien", "1975-01-02", "900-00-0001", "900000001", "555-0199"):
        assert term not in logged
    assert response.request["PATH_INFO"] == URL
    assert response.request["QUERY_STRING"] == ""


def test_search_terms_in_a_get_query_are_ignored(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).get(URL, {"mode": "ssn", "ssn": "900-00-0001"})
    assert response.status_code == 200
    assert response.context["results"] is None
    assert access_events(access_log.PATIENT_SEARCH) == []


@pytest.mark.parametrize(
    "data,field",
    [
        ({"mode": "last_name_dob", "last_name": "Testperson"}, "date_of_birth"),
        ({"mode": "last_name_dob", "last_name": "...", "date_of_birth": "1975-01-02"}, "last_name"),
        (
            {"mode": "last_name_dob", "last_name": "X", "date_of_birth": "1975-02-30"},
            "date_of_birth",
        ),
        ({"mode": "ssn", "ssn": "12345"}, "ssn"),
        ({"mode": "ssn", "ssn": "900-00-000\x00"}, "ssn"),
        ({"mode": "mrn", "mrn": "12;DROP"}, "mrn"),
        ({"mode": "phone", "phone": "555-0100"}, "phone"),
        ({"mode": "nonsense", "ssn": "900-00-0001"}, "mode"),
    ],
)
def test_bad_search_input_shows_a_message_and_searches_nothing(client_for, staff, data, field):
    response = search(client_for(staff["frontdesk"]), **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["results"] is None
    assert access_events(access_log.PATIENT_SEARCH) == []


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_and_the_refusal_is_logged(client_for, staff, patient, persona):
    client = client_for(staff[persona])
    assert client.get(URL).status_code == 403
    response = search(client, mode="ssn", ssn="900-00-0001")
    assert response.status_code == 403
    assert b"0001" not in without_tokens(response.content)
    refusals = access_events(access_log.ACCESS_REFUSED)
    assert len(refusals) == 2
    assert {e["staff_id"] for e in refusals} == {staff[persona].pk}
    assert all(e["reason"] == "role" for e in refusals)
    assert access_events(access_log.PATIENT_SEARCH) == []
    assert "900-00-0001" not in access_log_text()


def test_anonymous_visitor_is_sent_to_sign_in_without_the_terms(client, staff):
    response = client.post(URL, {"mode": "ssn", "ssn": "900-00-0001"})
    assert response.status_code == 302
    assert "900" not in response["Location"]


def test_search_result_limit_keeps_the_page_small(client_for, staff):
    for n in range(27):
        PatientFactory(ssn="", phone="202-555-0177", first_name=f"Same{n}", mrn="", pk=uuid.uuid4())
    response = search(client_for(staff["frontdesk"]), mode="phone", phone="202-555-0177")
    assert len(response.context["results"]) == 25
