"""One refusal path (clinic/access.py): every refused access is a 403 or 404 with an access-log
event tied to the ids the app resolved, and never to text from the request."""

from __future__ import annotations

import uuid

import pytest

from clinic import access_log
from clinic.models import AccessEvent

pytestmark = pytest.mark.usefixtures("clinic_db")
SENTINEL = "Zqxtestname"


def refusals() -> list[AccessEvent]:
    return list(
        AccessEvent.objects.using("owner").filter(action=access_log.ACCESS_REFUSED).order_by("id")
    )


def test_a_name_typed_into_an_address_is_not_stored(client_for, staff):
    client = client_for(staff["frontdesk"])
    assert client.get(f"/patients/{SENTINEL}/").status_code == 404
    assert client.get(f"/privacy/patients/{SENTINEL}-Smith/").status_code == 404
    events = refusals()
    assert len(events) == 2
    for event in events:
        stored = " ".join(str(value) for value in vars(event).values())
        assert SENTINEL not in stored
        assert "/patients/" not in stored  # no request path at all
        assert event.patient_id is None and event.object_id == ""


def test_a_role_refused_by_the_decorator_is_logged_with_the_patient(client_for, staff):
    patient_id = uuid.uuid4()
    client = client_for(staff["frontdesk"])  # the front desk may not write visits
    assert client.get(f"/patients/{patient_id}/visits/new/").status_code == 403
    [event] = refusals()
    assert (event.patient_id, event.reason, event.outcome) == (patient_id, "role", "403")
    assert event.staff_id == staff["frontdesk"].pk


def test_the_privacy_console_refuses_other_roles_with_the_patient_and_no_path(client_for, staff):
    patient_id = uuid.uuid4()
    client = client_for(staff["clinician"])
    assert client.get(f"/privacy/patients/{patient_id}/").status_code == 403
    assert client.get("/privacy/access-log/").status_code == 403
    first, second = refusals()
    assert (first.patient_id, first.reason, first.object_id) == (patient_id, "role", "")
    assert (second.patient_id, second.reason, second.object_id) == (None, "role", "")


def test_an_outsider_without_a_group_is_refused_and_logged(client_for, staff):
    client = client_for(staff["outsider"])
    assert client.get("/analytics/").status_code == 403
    [event] = refusals()
    assert event.staff_id == staff["outsider"].pk and event.reason == "role"


def test_the_browsers_favicon_request_is_answered_not_refused(client_for, staff):
    client = client_for(staff["clinician"])
    page = client.get("/")
    assert b'rel="icon"' in page.content
    response = client.get("/favicon.ico")
    assert response.status_code == 308 and response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200
    assert refusals() == []
