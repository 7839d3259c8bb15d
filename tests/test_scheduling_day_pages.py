"""The front desk's day view, a page of clinicians at a time (scheduling/day_pages.py): a page
reads, decrypts and logs only its own clinicians' appointments; next/previous pages and the
clinician picker reach everyone; the URL carries a date, a page number and ids only. A
clinician's own day has no pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from clinic import access_log, encryption, roles
from scheduling.day_pages import PAGE_SIZE
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    PatientFactory,
    StaffFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
DAY = reverse("scheduling:day")
EXTRA = 2  # clinicians beyond the first page


@pytest.fixture
def clinic(staff):
    """PAGE_SIZE + EXTRA clinicians (Fake DocA, DocB, ...), each with one patient on
    FUTURE_MONDAY. The standing clinicians have no appointment and are made inactive (without
    the deactivation's signals), so the day's clinicians are exactly these, in this order."""
    User = get_user_model()
    User.objects.using("owner").filter(
        pk__in=[staff["clinician"].pk, staff["clinician2"].pk]
    ).update(is_active=False)
    doctors = [
        StaffFactory(group=roles.CLINICIAN, first_name="Fake", last_name=f"Doc{chr(65 + n)}")
        for n in range(PAGE_SIZE + EXTRA)
    ]
    patients = [PatientFactory(first_name=f"Fakepatient{chr(65 + n)}") for n in range(len(doctors))]
    for doctor, patient in zip(doctors, patients, strict=True):
        AppointmentFactory(clinician=doctor, patient=patient)
    return doctors, patients


def day_page(client, **query):
    return client.get(DAY, {"date": FUTURE_MONDAY.isoformat(), **query})


def decrypting(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = encryption.decrypt_value

    def counting(stored: str, aad: str) -> str:
        seen.append(aad)
        return original(stored, aad)

    monkeypatch.setattr(encryption, "decrypt_value", counting)
    return seen


def test_the_first_page_reads_and_logs_only_its_clinicians(client_for, staff, clinic, monkeypatch):
    doctors, patients = clinic
    desk = client_for(staff["frontdesk"])
    desk.get(DAY)  # sign-in work and caches settled
    decrypted = decrypting(monkeypatch)
    response = day_page(desk)
    assert response.status_code == 200
    body = response.content.decode()
    shown, hidden = patients[:PAGE_SIZE], patients[PAGE_SIZE:]
    assert all(p.first_name in body for p in shown)
    assert not any(p.first_name in body for p in hidden)
    assert body.count('class="card day-column"') == PAGE_SIZE
    # Name and MRN of the page's patients only: the others' rows were never read.
    assert decrypted.count("patient_identities.last_name") == PAGE_SIZE
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert sorted(str(e.patient_id) for e in listed) == sorted(str(p.pk) for p in shown)
    assert f"Clinicians 1–{PAGE_SIZE} of {PAGE_SIZE + EXTRA}" in body


def test_the_next_page_shows_and_logs_the_rest(client_for, staff, clinic):
    doctors, patients = clinic
    desk = client_for(staff["frontdesk"])
    first = day_page(desk).content.decode()
    assert f"?date={FUTURE_MONDAY}&amp;page=2" in first and "Next clinicians" in first
    response = day_page(desk, page=2)
    body = response.content.decode()
    assert body.count('class="card day-column"') == EXTRA
    assert all(p.first_name in body for p in patients[PAGE_SIZE:])
    assert "Previous clinicians" in body and "Next clinicians" not in body
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert {str(e.patient_id) for e in listed} == {str(p.pk) for p in patients}
    assert len(listed) == len(patients)  # each patient once, on their own page


def test_a_page_beyond_the_last_shows_the_last(client_for, staff, clinic):
    body = day_page(client_for(staff["frontdesk"]), page=99).content.decode()
    assert body.count('class="card day-column"') == EXTRA


def test_the_picker_goes_to_the_chosen_clinicians_page(client_for, staff, clinic):
    doctors, _patients = clinic
    desk = client_for(staff["frontdesk"])
    body = day_page(desk).content.decode()
    assert f'<option value="{doctors[-1].pk}">' in body  # every clinician of the day
    response = day_page(desk, clinician=doctors[-1].pk)
    assert response.status_code == 302
    assert response["Location"] == f"{DAY}?date={FUTURE_MONDAY}&page=2#clinician-{doctors[-1].pk}"
    assert f'id="clinician-{doctors[-1].pk}"' in desk.get(response["Location"]).content.decode()


def test_a_clinician_with_no_column_is_a_message_and_the_first_page(client_for, staff, clinic):
    response = day_page(client_for(staff["frontdesk"]), clinician=staff["analyst"].pk)
    assert response.status_code == 200
    body = response.content.decode()
    assert "That clinician has no column on this day" in body
    assert body.count('class="card day-column"') == PAGE_SIZE


def test_page_links_carry_no_phi(client_for, staff, clinic):
    _doctors, patients = clinic
    body = day_page(client_for(staff["frontdesk"])).content.decode()
    links = re.findall(r'href="([^"]*)"', body)
    assert links
    for link in links:
        assert not any(p.first_name in link or p.last_name in link or p.mrn in link
                       for p in patients)  # fmt: skip


def test_a_clinician_who_left_keeps_a_column_while_they_have_appointments(
    client_for, staff, clinic
):
    doctors, patients = clinic
    # "Doc" sorts before "DocA" under any collation.
    gone = StaffFactory(group=None, first_name="Fake", last_name="Doc", is_active=False)
    left_behind = PatientFactory(first_name="Fakeleftbehind")
    AppointmentFactory(
        clinician=gone, patient=left_behind, starts_at=clinic_moment(FUTURE_MONDAY, 10)
    )
    body = day_page(client_for(staff["frontdesk"])).content.decode()
    assert "Fakeleftbehind" in body and f'id="clinician-{gone.pk}"' in body
    assert patients[PAGE_SIZE - 1].first_name not in body  # pushed to the next page


def test_a_clinicians_own_day_has_no_pages(client_for, staff):
    AppointmentFactory(clinician=staff["clinician"], patient=PatientFactory(first_name="Fakeown"))
    body = day_page(client_for(staff["clinician"])).content.decode()
    assert "Fakeown" in body
    assert "Go to clinician" not in body and "Clinicians 1" not in body
