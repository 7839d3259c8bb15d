"""In Chromium, under the real CSP: the clinician's hours are cut after a booking; the front
desk's home page counts one appointment to re-arrange, its list shows it with the words
"Outside working time now", and its day view marks the row the same way beside Reschedule.
The URLs carry a page, a date and ids only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.browser_helpers import collect_csp_errors, sign_in
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
    monday_after_next,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_front_desk_sees_the_booking_left_outside_changed_hours(page, live_url, staff):
    today = timezone.localdate()
    monday = monday_after_next()
    clinician = staff["clinician"]
    WorkingHoursFactory(clinician=clinician, valid_until=today - datetime.timedelta(days=1))
    WorkingHoursFactory(clinician=clinician, valid_from=today, ends_at=datetime.time(11))
    patient = PatientFactory(first_name="Robin", last_name="Testflagged")
    AppointmentFactory(clinician=clinician, patient=patient, starts_at=clinic_moment(monday, 11))
    csp_errors = collect_csp_errors(page)
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))

    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.click("text=Appointments to re-arrange")
    page.wait_for_selector("h1:has-text('Appointments to re-arrange')")
    assert " ".join(page.locator("#to-rearrange-count").inner_text().split()) == "1 to re-arrange."
    row = page.locator("tbody tr", has_text="Testflagged")
    assert "Outside working time now" in row.inner_text()
    assert row.locator("a", has_text="Reschedule").count() == 1

    row.locator("a", has_text=monday.isoformat()).click()
    page.wait_for_selector("text=Outside working time now")
    day_row = page.locator("tbody tr", has_text="Testflagged")
    assert "Outside working time now" in day_row.inner_text()
    assert day_row.locator("a", has_text="Reschedule").count() == 1
    assert csp_errors == []
    assert not any("Testflagged" in url or "Robin" in url for url in visited)
