"""In Chromium: the front desk opens a patient's summary, books the first free time with a
clinician, lands on that day's list (no check-in before the appointment's day), and checks
today's patient in from today's list. The pages run under the real CSP (no inline script);
nothing typed reaches the address bar."""

from __future__ import annotations

import pytest

from scheduling.models import Appointment
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    today_at,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_front_desk_books_and_checks_in_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Robin", last_name="Testperson")
    WorkingHoursFactory(clinician=staff["clinician"])  # Mondays 09:00-12:00
    AppointmentTypeFactory(name="Follow-up", default_minutes=30)
    csp_errors = collect_csp_errors(page)

    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/patients/{patient.pk}/")
    page.click("text=Book an appointment")
    page.select_option("#id_clinician", str(staff["clinician"].pk))
    page.select_option("#id_appointment_type", label="Follow-up")
    page.fill("#id_from_date", FUTURE_MONDAY.isoformat())
    page.click("text=Show free times")
    first_time = page.locator("input[name=starts_at]").first
    first_time.wait_for()
    assert "09:00" in page.locator("fieldset").inner_text()
    first_time.check()
    page.fill("#id_visit_reason", "Fake reason typed in the browser test")
    screenshot(page, "booking")
    page.click("button:has-text('Book')")

    page.wait_for_selector("text=Appointment booked.")
    assert FUTURE_MONDAY.isoformat() in page.url
    row = page.locator("tbody tr").first
    assert "Testperson, Robin" in row.inner_text() and "09:00" in row.inner_text()
    # The front desk writes the visit reason but never reads it back.
    assert "Fake reason typed" not in page.inner_text("main")
    # Check-in waits for the appointment's day; today's patient is checked in from today's list.
    assert row.locator("button:has-text('Check in')").count() == 0
    booked = Appointment.objects.using("owner").get()
    assert (booked.patient_id, booked.status) == (patient.pk, "booked")
    assert booked.booked_by_id == staff["frontdesk"].pk
    today = AppointmentFactory(
        clinician=staff["clinician"],
        patient=PatientFactory(first_name="Sam", last_name="Testwaiting"),
        starts_at=today_at(12),
    )
    page.click("text=Today")
    row = page.locator("tbody tr", has_text="Testwaiting")
    row.locator("button:has-text('Check in')").click()
    page.wait_for_selector("text=arrived")
    screenshot(page, "day-list")
    today.refresh_from_db(using="owner")
    assert today.status == "arrived"
    assert "Fake" not in page.url and "Robin" not in page.url
    assert csp_errors == []
