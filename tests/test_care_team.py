"""Care teams: the front desk adds and ends assignments, which opens and closes a clinician's
access at once; clinicians see their patient's team read-only and can never write it (the
database refuses too); "My patients" lists the clinician's current patients."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connections, transaction
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from clinic.db_context import apply_context
from records.models import CareTeamMember
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


def url(patient) -> str:
    return reverse("records:care-team", kwargs={"patient_id": patient.pk})


def end_url(patient) -> str:
    return reverse("records:care-team-end", kwargs={"patient_id": patient.pk})


def visits(patient) -> str:
    return reverse("records:visit-list", kwargs={"patient_id": patient.pk})


def add(staff_member, **changes) -> dict:
    return {
        "staff": str(staff_member.pk),
        "starts_on": str(timezone.localdate()),
        "ends_on": "",
        "reason": "primary care",
        **changes,
    }


def members():
    return list(CareTeamMember.objects.using("owner").order_by("pk"))


def test_front_desk_adds_a_clinician_who_then_has_access(client_for, staff, patient):
    from django.test import Client

    desk = client_for(staff["frontdesk"])
    page = desk.get(url(patient))
    assert page.status_code == 200
    body = page.content.decode()
    assert f'value="{staff["clinician"].pk}"' in body
    assert f'value="{staff["frontdesk"].pk}"' not in body  # only clinicians are offered
    response = desk.post(url(patient), add(staff["clinician"]))
    assert response.status_code == 302
    [member] = members()
    assert (member.staff_id, member.ends_on, member.reason) == (
        staff["clinician"].pk,
        None,
        "primary care",
    )
    [event] = events(access_log.CARE_TEAM_CHANGED)
    assert (event.patient_id, event.object_id, event.reason) == (
        patient.pk,
        str(member.pk),
        "added",
    )
    clinician = Client()
    clinician.force_login(staff["clinician"])
    assert clinician.get(visits(patient)).status_code == 200


def test_front_desk_ends_an_assignment_and_access_stops_now(client_for, staff, patient):
    from django.test import Client

    member = CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    clinician = Client()
    clinician.force_login(staff["clinician"])
    assert clinician.get(visits(patient)).status_code == 200

    response = client_for(staff["frontdesk"]).post(end_url(patient), {"member": member.pk})
    assert response.status_code == 302
    member.refresh_from_db(using="owner")
    assert member.ends_on == timezone.localdate() - datetime.timedelta(days=1)
    assert events(access_log.CARE_TEAM_CHANGED)[0].reason == "ended"
    assert clinician.get(visits(patient)).status_code == 403


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"ends_on": "2020-01-01"}, "cannot be before the first day"),
        ({"starts_on": "2031-02-30"}, "Enter a valid date"),
        ({"reason": ""}, "This field is required"),
        ({"reason": "x" * 201}, "at most 200 characters"),
        ({"staff": "999999"}, "Select a valid choice"),
    ],
)
def test_bad_care_team_input_saves_nothing(client_for, staff, patient, changes, message):
    response = client_for(staff["frontdesk"]).post(url(patient), add(staff["clinician"], **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert members() == []
    assert events(access_log.CARE_TEAM_CHANGED) == []


def test_non_clinician_cannot_be_put_on_a_care_team(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).post(url(patient), add(staff["analyst"]))
    assert b"Select a valid choice" in response.content
    assert members() == []


def test_clinician_already_on_the_team_is_not_added_twice(client_for, staff, patient):
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    response = client_for(staff["frontdesk"]).post(url(patient), add(staff["clinician"]))
    assert b"already on the care team" in response.content
    assert len(members()) == 1


def test_treating_clinician_sees_the_care_team_read_only(client_for, staff, patient):
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient, reason="cardiology consult")
    response = client_for(staff["clinician"]).get(url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert "cardiology consult" in body
    assert "Add to care team" not in body
    assert end_url(patient) not in body


def test_the_reason_is_stored_encrypted(client_for, staff, patient):
    client_for(staff["frontdesk"]).post(url(patient), add(staff["clinician"], reason="Testreason"))
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT reason FROM care_team")
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("v1:") and "Testreason" not in stored
    assert CareTeamMember.objects.using("owner").get().reason == "Testreason"


def test_clinicians_cannot_change_care_teams(client_for, staff, patient):
    member = CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    client = client_for(staff["clinician"])
    assert client.post(url(patient), add(staff["clinician"])).status_code == 403
    assert client.post(end_url(patient), {"member": member.pk}).status_code == 403
    assert members() == [member]
    assert members()[0].ends_on is None
    assert len(events(access_log.ACCESS_REFUSED)) == 2


def test_clinician_not_on_the_team_gets_the_break_glass_refusal(client_for, staff, patient):
    response = client_for(staff["clinician2"]).get(url(patient))
    assert response.status_code == 403
    assert f"/break-glass/{patient.pk}/".encode() in response.content
    [event] = events(access_log.ACCESS_REFUSED)
    assert event.reason == "not on care team"


def test_database_refuses_a_clinician_writing_the_care_team(staff, patient):
    """Row-level security reads care_team: a clinician able to add themselves could reach any
    patient, so only the front desk role holds INSERT/UPDATE on it."""
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="default"):
            apply_context("clinic_clinician", staff["clinician2"].pk)
            CareTeamMember(staff=staff["clinician2"], patient=patient, reason="x").save(
                using="default"
            )
    connections["default"].close()
    assert members() == []


@pytest.mark.parametrize("persona", ["analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused(client_for, staff, patient, persona):
    client = client_for(staff[persona])
    assert client.get(url(patient)).status_code == 403
    assert client.post(url(patient), add(staff["clinician"])).status_code == 403
    assert client.post(end_url(patient), {"member": 1}).status_code == 403
    assert members() == []
    assert len(events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)) == 3


def test_my_patients_lists_current_care_team_patients(client_for, staff):
    mine = PatientFactory(first_name="Robin", last_name="Testperson")
    ended = PatientFactory(first_name="Sam", last_name="Exampleson", ssn="900-00-0002")
    other = PatientFactory(first_name="Kim", last_name="Otherperson", ssn="900-00-0003")
    CareTeamMemberFactory(staff=staff["clinician"], patient=mine)
    CareTeamMemberFactory(
        staff=staff["clinician"],
        patient=ended,
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2020, 12, 31),
    )
    CareTeamMemberFactory(staff=staff["clinician2"], patient=other)
    ClinicalRecordFactory(patient=mine, provider=staff["clinician"])
    response = client_for(staff["clinician"]).get(reverse("records:my-patients"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Testperson, Robin" in body
    assert mine.mrn in body
    assert visits(mine) in body
    assert "Exampleson" not in body and "Otherperson" not in body


def test_clinician_home_links_to_my_patients(client_for, staff):
    response = client_for(staff["clinician"]).get("/")
    assert reverse("records:my-patients").encode() in response.content


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin", "outsider"])
def test_my_patients_is_for_clinicians_only(client_for, staff, persona):
    assert client_for(staff[persona]).get(reverse("records:my-patients")).status_code == 403
