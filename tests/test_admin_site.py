"""The admin site: administrators manage users and their one clinic role; no PHI is reachable."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User

pytestmark = pytest.mark.usefixtures("clinic_db")


def test_no_phi_model_is_registered_in_the_admin():
    labels = {model._meta.app_label for model in admin.site._registry}
    assert labels.isdisjoint({"patients", "records", "analytics"})
    # Scheduling's settings are there (types, hours, exceptions); appointments are PHI.
    registered = {model._meta.model_name for model in admin.site._registry}
    assert "appointment" not in registered


def test_administrator_reaches_user_management(client_for, staff):
    client = client_for(staff["admin"])
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get(f"/admin/auth/user/{staff['clinician'].pk}/change/").status_code == 200


def test_administrator_sets_appointment_types_and_working_hours(client_for, staff):
    from scheduling.models import AppointmentType, WorkingHours
    from tests.factories import ScheduleExceptionFactory

    exception = ScheduleExceptionFactory(clinician=staff["clinician"])
    client = client_for(staff["admin"])
    response = client.post(
        "/admin/scheduling/appointmenttype/add/",
        {"name": "New patient", "default_minutes": "45", "active": "on"},
    )
    assert response.status_code == 302
    assert AppointmentType.objects.using("owner").get().default_minutes == 45
    response = client.post(
        "/admin/scheduling/workinghours/add/",
        {
            "clinician": str(staff["clinician"].pk),
            "weekday": "2",
            "starts_at": "08:30",
            "ends_at": "12:00",
        },
    )
    assert response.status_code == 302
    assert WorkingHours.objects.using("owner").get().weekday == 2
    listing = client.get("/admin/scheduling/scheduleexception/")
    assert listing.status_code == 200 and b"training day" not in listing.content
    change = client.get(f"/admin/scheduling/scheduleexception/{exception.pk}/change/")
    assert change.status_code == 200 and b"training day" in change.content


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "privacy", "outsider"])
def test_other_staff_cannot_use_the_admin(client_for, staff, persona):
    response = client_for(staff[persona]).get("/admin/auth/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_group_page_shows_its_database_role_and_rights(client_for, staff):
    group = Group.objects.using("owner").get(name="Clinician")
    response = client_for(staff["admin"]).get(f"/admin/auth/group/{group.pk}/change/")
    assert b"clinic_clinician" in response.content
    assert b"clinical_records" in response.content


def _change_payload(user: User, groups: list[int]) -> dict:
    return {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": groups,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }


def test_a_user_needs_exactly_one_clinic_role(client_for, staff):
    client = client_for(staff["admin"])
    target = staff["frontdesk"]
    clinician = Group.objects.using("owner").get(name="Clinician")
    analyst = Group.objects.using("owner").get(name="Analyst")
    response = client.post(
        f"/admin/auth/user/{target.pk}/change/", _change_payload(target, [clinician.pk, analyst.pk])
    )
    assert response.status_code == 200
    assert b"exactly one clinic role" in response.content
    names = set(User.objects.using("owner").get(pk=target.pk).groups.values_list("name", flat=True))
    assert names == {"Front desk"}


def test_administrator_changes_a_users_role(client_for, staff):
    client = client_for(staff["admin"])
    target = staff["frontdesk"]
    analyst = Group.objects.using("owner").get(name="Analyst")
    response = client.post(
        f"/admin/auth/user/{target.pk}/change/", _change_payload(target, [analyst.pk])
    )
    assert response.status_code == 302, response.content[:2000]
    names = set(User.objects.using("owner").get(pk=target.pk).groups.values_list("name", flat=True))
    assert names == {"Analyst"}
