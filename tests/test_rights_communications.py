"""Confidential communications (45 CFR 164.522(b)): the privacy officer records an alternative
address and/or phone (encrypted) and whether it replaces the default; the front desk then sees
it on the patient's summary, marked, in place of the default (an access-log event); a clinician
who may see the patient sees only that it is in force; the database gives each role no more
(raw SQL injected into a signed-in request); the privacy officer alone records, as the caller,
and ends it once."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError
from django.utils import timezone

from clinic import access_log
from clinic.encryption import encrypt_value
from rights.restriction_models import ConfidentialCommunication
from tests.db_helpers import in_request, request_cursor
from tests.factories import (
    CareTeamMemberFactory,
    ConfidentialCommunicationFactory,
    PatientFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
ALT_PHONE = "555-0177"
ALT_ADDRESS = "7 Fakealt Road, Testtown"
MARK = "Confidential communications: contact only here"


def base(patient) -> str:
    return f"/privacy/rights/patients/{patient.pk}"


def form(**changes) -> dict:
    return {
        "requested_on": timezone.localdate().isoformat(),
        "alt_phone": ALT_PHONE,
        "alt_address": ALT_ADDRESS,
        "use_instead": "on",
        **changes,
    }


def stored() -> list[ConfidentialCommunication]:
    return list(ConfidentialCommunication.objects.using("owner").all())


def test_privacy_officer_records_and_ends_it(staff, client_for, patient):
    client = client_for(staff["privacy"])
    assert client.post(f"{base(patient)}/communications/", form()).status_code == 302
    [c] = stored()
    assert (c.alt_phone, c.alt_address, c.use_instead) == (ALT_PHONE, ALT_ADDRESS, True)
    assert c.recorded_by_id == staff["privacy"].pk
    [event] = events(access_log.CONFIDENTIAL_CONTACT_RECORDED)
    assert event.patient_id == patient.pk and event.object_id == str(c.pk)
    page = client.get(f"{base(patient)}/restrictions/").content.decode()
    assert ALT_PHONE in page and "in force" in page
    # A second one while the first is in force: refused, nothing saved.
    client.post(f"{base(patient)}/communications/", form(alt_phone="555-0155"))
    assert len(stored()) == 1
    end = f"{base(patient)}/communications/{c.pk}/end/"
    assert client.post(end).status_code == 302
    c.refresh_from_db(using="owner")
    assert c.ended_on == timezone.localdate() and c.ended_by_id == staff["privacy"].pk
    assert len(events(access_log.CONFIDENTIAL_CONTACT_ENDED)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alt_phone": "", "alt_address": ""}, "Give an alternative address, a phone, or both"),
        ({"alt_phone": "call me <b>"}, "Enter a phone number"),
        ({"requested_on": "2999-01-01"}, "future"),
    ],
)
def test_bad_input_is_a_form_message(staff, client_for, patient, changes, message):
    response = client_for(staff["privacy"]).post(
        f"{base(patient)}/communications/", form(**changes)
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert stored() == [] and events(access_log.CONFIDENTIAL_CONTACT_RECORDED) == []


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin"])
def test_only_the_privacy_officer_records_or_ends(staff, client_for, patient, persona):
    c = ConfidentialCommunicationFactory(patient=patient)
    client = client_for(staff[persona])
    assert client.post(f"{base(patient)}/communications/", form()).status_code == 403
    assert client.post(f"{base(patient)}/communications/{c.pk}/end/").status_code == 403
    refused = events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)
    assert len(refused) == 2 and all(e.patient_id == patient.pk for e in refused)
    assert len(stored()) == 1 and stored()[0].ended_on is None


def test_unknown_id_is_not_found_and_logged(staff, client_for, patient):
    url = f"{base(patient)}/communications/{uuid.uuid4()}/end/"
    assert client_for(staff["privacy"]).post(url).status_code == 404
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.patient_id == patient.pk


def test_front_desk_sees_the_alternative_in_place_of_the_default(staff, client_for):
    patient = PatientFactory(phone="555-0123")
    client = client_for(staff["frontdesk"])
    url = f"/patients/{patient.pk}/"
    assert "***-0123" in client.get(url).content.decode()
    c = ConfidentialCommunicationFactory(patient=patient, alt_phone=ALT_PHONE)
    page = client.get(url).content.decode()
    assert MARK in page and ALT_PHONE in page and "Fakealt Lane" in page
    assert "***-0123" not in page
    [event] = events(access_log.CONFIDENTIAL_CONTACT_SHOWN)
    assert event.patient_id == patient.pk and event.object_id == str(c.pk)


def test_a_clinician_learns_only_that_it_is_in_force(staff, client_for):
    patient = PatientFactory(phone="555-0123")
    ConfidentialCommunicationFactory(patient=patient, alt_phone=ALT_PHONE)
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    page = client_for(staff["clinician"]).get(f"/patients/{patient.pk}/").content.decode()
    assert "Confidential communications in force" in page
    assert ALT_PHONE not in page and "Fakealt" not in page and "***-0123" not in page
    assert events(access_log.CONFIDENTIAL_CONTACT_SHOWN) == []


# --- what the database enforces (raw SQL) -------------------------------------------------------

INSERT = (
    "INSERT INTO confidential_communications (communication_id, patient_id, requested_on,"
    " alt_address, alt_phone, use_instead, recorded_by_id, recorded_at)"
    " VALUES (%s, %s, %s, %s, %s, true, %s, now())"
)


def params(patient, recorded_by, *, requested=None) -> list:
    address = encrypt_value("", "confidential_communications.alt_address")
    phone = encrypt_value("555-0111", "confidential_communications.alt_phone")
    return [str(uuid.uuid4()), str(patient.pk), requested or timezone.localdate(), address,
            phone, recorded_by.pk]  # fmt: skip


def run(user, statement: str, values: list | None = None) -> int:
    with request_cursor(user) as cursor:
        cursor.execute(statement, values or [])
        return cursor.rowcount


def test_database_only_the_privacy_officer_records_as_the_caller(staff, patient):
    assert run(staff["privacy"], INSERT, params(patient, staff["privacy"])) == 1
    with pytest.raises(DatabaseError, match="recorded by the caller"):
        run(staff["privacy"], INSERT, params(patient, staff["clinician"]))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(DatabaseError, match="future"):
        run(staff["privacy"], INSERT, params(patient, staff["privacy"], requested=tomorrow))
    for persona in ("frontdesk", "clinician", "analyst", "admin"):
        with pytest.raises(DatabaseError, match="permission denied"):
            run(staff[persona], INSERT, params(patient, staff[persona]))


def test_database_one_in_force_and_ended_once_by_the_caller(staff, patient):
    c = ConfidentialCommunicationFactory(patient=patient)
    with pytest.raises(DatabaseError, match="one_in_force"):
        run(staff["privacy"], INSERT, params(patient, staff["privacy"]))
    end = "UPDATE confidential_communications SET ended_on = %s, ended_by_id = %s"
    today = timezone.localdate()
    with pytest.raises(DatabaseError, match="by the caller"):
        run(staff["privacy"], end, [today, staff["clinician"].pk])
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff["privacy"], "UPDATE confidential_communications SET alt_phone = ''")
    for persona in ("frontdesk", "clinician"):
        with pytest.raises(DatabaseError, match="permission denied"):
            run(staff[persona], end, [today, staff[persona].pk])
    with pytest.raises(DatabaseError, match="permission denied"):
        run(staff["privacy"], "DELETE FROM confidential_communications")
    with request_cursor(staff["privacy"]) as cursor:
        cursor.execute(end, [today, staff["privacy"].pk])
        with pytest.raises(DatabaseError, match="never change"):
            cursor.execute(end, [today, staff["privacy"].pk])
    c.refresh_from_db(using="owner")
    assert c.ended_on is None  # everything above was rolled back


def test_database_who_reads_what(staff, patient):
    ConfidentialCommunicationFactory(patient=patient)
    ended = PatientFactory(first_name="Otherfake")
    ConfidentialCommunicationFactory(patient=ended, ended_on=timezone.localdate(),
                                     ended_by=staff["privacy"])  # fmt: skip
    phones = "SELECT alt_phone FROM confidential_communications"
    assert len(in_request(staff["frontdesk"], phones)) == 1  # the one in force only
    flags = "SELECT use_instead FROM confidential_communications"
    assert in_request(staff["clinician"], flags) == []  # not on the care team
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    assert in_request(staff["clinician"], flags) == [(True,)]
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff["clinician"], phones)
    for persona in ("analyst", "admin"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(staff[persona], flags)
    with request_cursor(staff["frontdesk"], switch_to="clinic_privacy_officer") as cursor:
        cursor.execute("SELECT count(*) FROM confidential_communications")
        assert cursor.fetchone() == (0,)


# --- the front desk's demographics edit page ---------------------------------------------------

DO_NOT_USE = "Do not use for contact"


def edit_page(client, patient) -> str:
    response = client.get(f"/patients/{patient.pk}/edit/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_edit_page_shows_the_alternative_and_marks_the_default_do_not_use(
    staff, client_for, patient
):
    c = ConfidentialCommunicationFactory(
        patient=patient, alt_phone=ALT_PHONE, alt_address=ALT_ADDRESS
    )
    page = edit_page(client_for(staff["frontdesk"]), patient)
    assert 'id="confidential-contact"' in page
    assert "Confidential communications: contact this patient only here" in page
    assert ALT_PHONE in page and ALT_ADDRESS in page
    # The address, phone and email fields are each marked; the default stays editable.
    for field in ("address", "phone", "email"):
        assert f'id="{field}-do-not-contact"' in page
    assert page.count(DO_NOT_USE) == 3
    assert 'value="202-555-0100"' in page
    [event] = events(access_log.CONFIDENTIAL_CONTACT_SHOWN)
    assert (event.patient_id, event.object_id) == (patient.pk, str(c.pk))


def test_the_edit_page_when_the_default_may_be_used_too(staff, client_for, patient):
    ConfidentialCommunicationFactory(patient=patient, alt_phone=ALT_PHONE, use_instead=False)
    page = edit_page(client_for(staff["frontdesk"]), patient)
    assert "the patient also asked to be contacted here" in page and ALT_PHONE in page
    assert DO_NOT_USE not in page


def test_the_edit_page_of_a_patient_without_one_or_after_it_ended_warns_of_nothing(
    staff, client_for, patient
):
    client = client_for(staff["frontdesk"])
    for _ in range(2):
        page = edit_page(client, patient)
        assert 'id="confidential-contact"' not in page and DO_NOT_USE not in page
        assert ALT_PHONE not in page
        ConfidentialCommunicationFactory(
            patient=patient,
            alt_phone=ALT_PHONE,
            ended_on=timezone.localdate(),
            ended_by=staff["privacy"],
        )
    assert events(access_log.CONFIDENTIAL_CONTACT_SHOWN) == []
