"""The author's unsigned notes older than UNSIGNED_NOTE_DAYS (records/unsigned.py): the list
page (each patient shown is an access-log event) and the home-page include (a count, no
patient). Dates are the clinic's."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from records import unsigned
from records.unsigned import unsigned_notes_panel
from tests.db_helpers import request_cursor
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

LIST = reverse("records:unsigned-notes")


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@pytest.fixture
def notes(staff):
    """The clinician's visits 10, 4 and 3 days ago (unsigned), 20 days ago (signed); the other
    clinician's unsigned visit 10 days ago, of the same patient."""
    patient = PatientFactory(last_name="Testunsigned")
    for clinician in ("clinician", "clinician2"):
        CareTeamMemberFactory(staff=staff[clinician], patient=patient)
    mine = {
        days: ClinicalRecordFactory(
            patient=patient, provider=staff["clinician"], visit_date=days_ago(days)
        )
        for days in (10, 4, 3)
    }
    ClinicalRecordFactory(
        patient=patient, provider=staff["clinician"], visit_date=days_ago(20), signed=True
    )
    ClinicalRecordFactory(patient=patient, provider=staff["clinician2"], visit_date=days_ago(10))
    return mine


def test_the_author_sees_their_overdue_unsigned_notes_oldest_first(client_for, staff, notes):
    response = client_for(staff["clinician"]).get(LIST)
    assert response.status_code == 200
    assert [v.pk for v in response.context["visits"]] == [notes[10].pk, notes[4].pk]
    assert "Testunsigned" in response.content.decode()
    logged = events(access_log.UNSIGNED_NOTES_LISTED)
    assert [(e.object_id, e.patient_id) for e in logged] == [
        (str(notes[10].pk), notes[10].patient_id),
        (str(notes[4].pk), notes[4].patient_id),
    ]


@override_settings(UNSIGNED_NOTE_DAYS=0)
def test_the_number_of_days_is_a_setting(client_for, staff, notes):
    response = client_for(staff["clinician"]).get(LIST)
    assert len(response.context["visits"]) == 3


def test_the_list_is_paged_and_logs_only_the_patients_shown(client_for, staff, notes, monkeypatch):
    """A page at a time, oldest first; the URL carries a page number only; each page logs the
    patients it shows and no other; of the patient only the name is read."""
    from records import signing_views

    monkeypatch.setattr(signing_views, "UNSIGNED_PER_PAGE", 1)
    client = client_for(staff["clinician"])
    first = client.get(LIST)
    assert [v.pk for v in first.context["visits"]] == [notes[10].pk]
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()
    assert [e.object_id for e in events(access_log.UNSIGNED_NOTES_LISTED)] == [str(notes[10].pk)]
    second = client.get(LIST, {"page": 2})
    assert [v.pk for v in second.context["visits"]] == [notes[4].pk]
    assert [e.object_id for e in events(access_log.UNSIGNED_NOTES_LISTED)] == [
        str(notes[10].pk),
        str(notes[4].pk),
    ]
    shown = second.context["visits"][0].patient
    assert {"ssn", "phone", "mrn", "date_of_birth"} <= shown.get_deferred_fields()
    assert client.get(LIST, {"page": "not-a-number"}).context["visits"][0].pk == notes[10].pk


def test_notes_of_patients_no_longer_visible_are_not_listed(client_for, staff):
    """Row-level security decides: a patient off the care team is not shown."""
    ClinicalRecordFactory(provider=staff["clinician"], visit_date=days_ago(10))
    response = client_for(staff["clinician"]).get(LIST)
    assert list(response.context["visits"]) == []
    assert events(access_log.UNSIGNED_NOTES_LISTED) == []


def render_panel(user) -> str:
    """The include as the clinician's home page renders it, inside that user's request."""
    request = RequestFactory().get("/")
    request.user = user
    with request_cursor(user):
        return Template("{% load unsigned_notes %}{% unsigned_notes_panel %}").render(
            Context({"request": request})
        )


def test_the_home_page_include_counts_without_naming_a_patient(staff, notes):
    html = render_panel(staff["clinician"])
    assert "2 visit notes still unsigned more than 3 days" in html
    assert LIST in html
    assert "Testunsigned" not in html
    assert events(access_log.UNSIGNED_NOTES_LISTED) == []


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin"])
def test_the_include_shows_nothing_to_other_roles(staff, notes, persona):
    request = RequestFactory().get("/")
    request.user = staff[persona]
    assert unsigned_notes_panel(request) == {"show": False}
    assert render_panel(staff[persona]).strip() == ""


def test_the_include_counts_up_to_a_cap_and_says_or_more(staff, notes, monkeypatch):
    """The home page counts at most PANEL_COUNT_CAP overdue notes (a bounded read on every
    view), and says so rather than showing the cap as if it were the number."""
    monkeypatch.setattr(unsigned, "PANEL_COUNT_CAP", 1)
    assert "1 or more visit note still unsigned more than 3 days" in render_panel(
        staff["clinician"]
    )
    monkeypatch.setattr(unsigned, "PANEL_COUNT_CAP", 3)
    assert "2 visit notes still unsigned more than 3 days" in render_panel(staff["clinician"])


def test_my_patients_shows_the_include(client_for, staff, notes):
    body = client_for(staff["clinician"]).get(reverse("records:my-patients")).content.decode()
    assert "2 visit notes still unsigned more than 3 days" in body
    assert LIST in body
