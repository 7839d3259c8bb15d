"""In Chromium, under the real CSP: the front desk opens a day on the calendar, clicks a
clinician's empty slot, finds the patient with the POSTed search, chooses the type, finds the
chosen time first and preselected, books it and is back on that day with the appointment in the
column; then books the same patient outside working time with a reason. Nothing typed reaches
the address bar: the URLs carry ids, a date and a UTC time only."""

from __future__ import annotations

import pytest

from scheduling.models import Appointment
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_front_desk_books_from_the_calendar_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name="Testcalendar")
    WorkingHoursFactory(clinician=staff["clinician"])  # Mondays 09:00-12:00
    AppointmentTypeFactory(name="Follow-up", default_minutes=30)
    csp_errors = collect_csp_errors(page)
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))

    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/day/?date={FUTURE_MONDAY.isoformat()}")
    page.locator("tr.free-time a", has_text="Book 09:00").click()
    page.wait_for_selector("text=Back to the calendar")
    form = page.locator("form[aria-label='Search by medical record number']")
    form.locator("input[name=mrn]").fill(patient.mrn)
    form.locator("button").click()
    page.click("text=Book for this patient")
    page.select_option("#id_appointment_type", label="Follow-up")
    page.click("text=Show free times")
    chosen = page.locator("input[name=starts_at]").first
    chosen.wait_for()
    assert chosen.is_checked()
    assert "09:00" in page.locator("fieldset label").first.inner_text()
    page.click("button:has-text('Book')")

    page.wait_for_selector("text=Appointment booked.")
    assert f"date={FUTURE_MONDAY.isoformat()}" in page.url
    row = page.locator("tbody tr", has_text="Testcalendar")
    assert "09:00" in row.inner_text()
    screenshot(page, "calendar-free-time")
    booked = Appointment.objects.using("owner").get()
    assert booked.starts_at == clinic_moment(FUTURE_MONDAY, 9)

    # Outside working time, from the same patient's booking page, with a reason category.
    page.goto(
        f"{live_url}/scheduling/patients/{patient.pk}/book/?clinician={staff['clinician'].pk}"
        f"&appointment_type={booked.appointment_type_id}&from_date={FUTURE_MONDAY.isoformat()}"
    )
    page.click("text=Book outside working time…")
    page.fill("#id_date", FUTURE_MONDAY.isoformat())
    page.fill("#id_time", "07:30")
    page.select_option("#id_override_reason", "urgent")
    page.click("button:has-text('Book outside working time')")
    page.wait_for_selector("text=Appointment booked outside working time.")
    override = Appointment.objects.using("owner").exclude(pk=booked.pk).get()
    assert (override.override_reason, override.starts_at) == (
        "urgent",
        clinic_moment(FUTURE_MONDAY, 7, 30),
    )
    for url in visited:
        assert patient.mrn not in url and "Robin" not in url and "Testcalendar" not in url
    assert csp_errors == []
