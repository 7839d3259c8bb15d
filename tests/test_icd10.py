"""ICD-10-CM: only billable codes validate; the lookup answers clinicians with codes and
descriptions (the term is a diagnosis word, never patient data)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connections, transaction
from django.urls import reverse

from clinic import roles
from records import icd10, icd10_table

LOOKUP = reverse("records:icd10-lookup")


@pytest.mark.parametrize("code", ["E11.9", "e119", " J06.9 ", "I10", "S72.001A"])
def test_billable_codes_are_valid(code):
    assert icd10.is_valid_diagnosis(code)


@pytest.mark.parametrize("code", ["E11", "J06", "", "Z99.999X", "NOTACODE", "E11.9;--"])
def test_categories_and_unknown_codes_are_not(code):
    assert not icd10.is_valid_diagnosis(code)


def test_codes_are_stored_in_dotted_form():
    assert icd10.dotted("e119") == "E11.9"
    assert icd10.dotted("I10") == "I10"


@pytest.mark.usefixtures("clinic_db")
def test_lookup_by_word_returns_codes_with_descriptions(client_for, staff):
    response = client_for(staff["clinician"]).post(LOOKUP, {"q": "hypertension"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert 0 < len(results) <= 15
    assert all("hypertension" in r["description"].lower() for r in results)
    assert all(icd10.is_valid_diagnosis(r["code"]) for r in results)


@pytest.mark.usefixtures("clinic_db")
def test_lookup_by_code_prefix(client_for, staff):
    results = client_for(staff["clinician"]).post(LOOKUP, {"q": "E11.9"}).json()["results"]
    assert {"code": "E11.9", "description": "Type 2 diabetes mellitus without complications"} in (
        results
    )


@pytest.mark.usefixtures("clinic_db")
@pytest.mark.parametrize("term", ["", "a", "x" * 61])
def test_lookup_ignores_too_short_or_long_terms(client_for, staff, term):
    response = client_for(staff["clinician"]).post(LOOKUP, {"q": term})
    assert response.json() == {"results": []}


@pytest.mark.usefixtures("clinic_db")
def test_lookup_is_post_only_so_the_word_stays_out_of_urls(client_for, staff):
    assert client_for(staff["clinician"]).get(LOOKUP, {"q": "flu"}).status_code == 405


@pytest.mark.usefixtures("clinic_db")
def test_lookup_needs_the_csrf_token(staff):
    from django.test import Client

    from tests.conftest import sign_in_client

    client = sign_in_client(Client(enforce_csrf_checks=True), staff["clinician"])
    assert client.post(LOOKUP, {"q": "flu"}).status_code == 403


@pytest.mark.usefixtures("clinic_db")
@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin", "outsider"])
def test_lookup_is_for_clinicians_only(client_for, staff, persona):
    assert client_for(staff[persona]).post(LOOKUP, {"q": "flu"}).status_code == 403


@pytest.mark.usefixtures("clinic_db")
def test_lookup_sends_anonymous_visitors_to_sign_in(client):
    assert client.post(LOOKUP, {"q": "flu"}).status_code == 302


@pytest.mark.usefixtures("clinic_db")
def test_the_database_holds_the_code_set_the_application_validates_with():
    """The write check's table (records/icd10_table.py) is the application's code set: every
    billable code in dotted form, nothing else."""
    codes = icd10_table.billable_codes()
    assert len(codes) > 70000
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT code FROM icd10_cm_codes ORDER BY code")
        assert [row[0] for row in cursor.fetchall()] == codes
        for code in ("E11.9", "I10", "S72.001A"):
            cursor.execute("SELECT clinic_icd10_billable(%s)", [code])
            assert cursor.fetchone()[0] is True
        for code in ("E11", "E119", "A00.5", ""):
            cursor.execute("SELECT clinic_icd10_billable(%s)", [code])
            assert cursor.fetchone()[0] is False


@pytest.mark.usefixtures("clinic_db")
def test_provisioning_reloads_the_code_set_when_it_changes():
    with connections["owner"].cursor() as cursor:
        cursor.execute("DELETE FROM icd10_cm_codes WHERE code = 'E11.9'")
        cursor.execute("COMMENT ON TABLE icd10_cm_codes IS 'simple-icd-10-cm 0.0.1: 1 codes'")
    with connections["owner"].cursor() as cursor:
        done = icd10_table.ensure_code_table(connections["owner"])
        assert any("loaded" in line for line in done)
        cursor.execute("SELECT count(*) FROM icd10_cm_codes WHERE code = 'E11.9'")
        assert cursor.fetchone()[0] == 1
        assert icd10_table.ensure_code_table(connections["owner"]) == []


@pytest.mark.usefixtures("clinic_db")
@pytest.mark.parametrize("role", [roles.WEB_ROLE, *roles.GROUP_ROLES.values()])
def test_no_application_role_writes_the_code_set(role):
    """A code made up by injected SQL cannot become billable: the table is the owner's."""
    with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
        if role != roles.WEB_ROLE:
            cursor.execute(f"SET LOCAL ROLE {role}")
        with pytest.raises(DatabaseError, match="permission denied"):
            cursor.execute("INSERT INTO icd10_cm_codes VALUES ('A00.5')")
