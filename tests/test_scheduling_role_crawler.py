"""Issue 17's role crawler: every page of the scheduling app, requested by every persona. A role
outside the page's row of the matrix below gets 403 and an access-log refusal tied to the
patient the URL names (directly, or through its appointment); the roles in it reach the page.
A new scheduling route fails the first test until its row is added, so no page is left out."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, get_resolver, reverse

from clinic import access_log
from scheduling.urls import urlpatterns
from tests.factories import FUTURE_MONDAY, AppointmentFactory, PatientFactory, clinic_moment
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

FD, CL = "frontdesk", "clinician"
PERSONAS = ("frontdesk", "clinician", "analyst", "privacy", "admin", "outsider")
# Which personas may use each page (docs/scheduling.md, the role matrix); POST-only pages are
# requested with POST.
MAY: dict[str, set[str]] = {
    "book": {FD},
    "book-outside-hours": {FD},
    "book-from-calendar": {FD},
    "day": {FD, CL},
    "week": {FD, CL},
    "board": {FD, CL},
    "board-rows": {FD, CL},
    "rearrange": {FD},
    "step": {FD, CL},
    "cancel": {FD},
    "reschedule": {FD},
    "reschedule-outside-hours": {FD},
}
POST_ONLY = {"step"}
# Booking from the calendar and outside working hours start from a time chosen on another page.
NEEDS_A_CHOSEN_TIME = {"book-from-calendar", "book-outside-hours"}


def test_the_matrix_names_every_scheduling_route():
    assert all(isinstance(entry, URLPattern) for entry in urlpatterns)
    assert {entry.name for entry in urlpatterns} == set(MAY)
    assert "scheduling" in get_resolver().namespace_dict


@pytest.fixture
def booked(staff):
    """A patient with an appointment booked with the clinician (the URLs' ids are real rows)."""
    patient = PatientFactory()
    appointment = AppointmentFactory(
        clinician=staff["clinician"], patient=patient, starts_at=clinic_moment(FUTURE_MONDAY, 9)
    )
    return patient, appointment


def url_of(name: str, patient, appointment) -> str:
    route = next(entry for entry in urlpatterns if entry.name == name)
    kwargs = {}
    if "<uuid:patient_id>" in str(route.pattern):
        kwargs["patient_id"] = patient.pk
    if "<uuid:appointment_id>" in str(route.pattern):
        kwargs["appointment_id"] = appointment.pk
    return reverse(f"scheduling:{name}", kwargs=kwargs)


def names_a_patient(name: str) -> bool:
    route = str(next(entry for entry in urlpatterns if entry.name == name).pattern)
    return "<uuid:patient_id>" in route or "<uuid:appointment_id>" in route


def request(client, name: str, url: str):
    return client.post(url, {}) if name in POST_ONLY else client.get(url)


REFUSED = [(name, persona) for name in MAY for persona in PERSONAS if persona not in MAY[name]]


@pytest.mark.parametrize(("name", "persona"), REFUSED, ids=[f"{n}-{p}" for n, p in REFUSED])
def test_a_role_outside_the_matrix_is_refused_and_logged(client_for, staff, booked, name, persona):
    patient, appointment = booked
    url = url_of(name, patient, appointment)
    response = request(client_for(staff[persona]), name, url)
    assert response.status_code == 403, (name, persona, response.status_code)
    refusals = events(action=access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)
    assert refusals, (name, persona)
    if names_a_patient(name):
        assert {event.patient_id for event in refusals} == {patient.pk}, (name, persona)


ALLOWED_PAGES = [
    (name, persona) for name in MAY if name not in POST_ONLY for persona in sorted(MAY[name])
]


@pytest.mark.parametrize(
    ("name", "persona"), ALLOWED_PAGES, ids=[f"{n}-{p}" for n, p in ALLOWED_PAGES]
)
def test_the_roles_in_the_matrix_reach_the_page(client_for, staff, booked, name, persona):
    patient, appointment = booked
    response = request(client_for(staff[persona]), name, url_of(name, patient, appointment))
    if name in NEEDS_A_CHOSEN_TIME:
        # Asked with no time chosen, they send the front desk back to choose one.
        assert response.status_code == 302, (name, persona, response.status_code)
        assert not response.url.startswith("/account/"), response.url
    else:
        assert response.status_code == 200, (name, persona, response.status_code)
