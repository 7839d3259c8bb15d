"""In Chromium: the front desk opens a patient's summary, books the first free time with a
clinician, lands on that day's list (no check-in before the appointment's day), and checks
today's patient in from today's list. The pages run under the real CSP (no inline script);
nothing typed reaches the address bar. The clinician takes their patient through in room, seen
and done; the front desk reschedules and cancels."""

from __future__ import annotations

import pytest
from django.utils import timezone

from scheduling.models import Appointment
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import (
    FAKE_VISIT_REASON,
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
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


def test_the_clinician_takes_their_patient_through_the_day_in_chromium(page, live_url, staff):
    patient = PatientFactory(first_name="Kim", last_name="Testarrived")
    appointment = AppointmentFactory(
        clinician=staff["clinician"],
        patient=patient,
        starts_at=today_at(12),
        status="arrived",
        arrived_at=timezone.now(),
    )
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/day/")
    row = page.locator("tbody tr", has_text="Testarrived")
    assert FAKE_VISIT_REASON in row.inner_text()  # the reason is for the clinician
    assert row.locator("button:has-text('Check in')").count() == 0  # the front desk's step
    for button, status in (("In room", "in_room"), ("Seen", "seen"), ("Done", "done")):
        row.locator(f"button:has-text('{button}')").click()
        page.wait_for_selector(f"text=Marked {button.lower()}.")
        appointment.refresh_from_db(using="owner")
        assert appointment.status == status
        row = page.locator("tbody tr", has_text="Testarrived")
    assert row.locator("button").count() == 0
    assert csp_errors == []


def test_the_front_desk_reschedules_and_cancels_in_chromium(page, live_url, staff):
    WorkingHoursFactory(clinician=staff["clinician"])  # Mondays 09:00-12:00
    first = AppointmentFactory(
        clinician=staff["clinician"], patient=PatientFactory(last_name="Testmoving")
    )  # FUTURE_MONDAY 09:00
    second = AppointmentFactory(
        clinician=staff["clinician"],
        patient=PatientFactory(last_name="Testcancelling"),
        starts_at=clinic_moment(FUTURE_MONDAY, 10),
    )
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/day/?date={FUTURE_MONDAY}")

    page.locator("tbody tr", has_text="Testmoving").get_by_role("link", name="Reschedule").click()
    page.wait_for_selector("h1:has-text('Reschedule an appointment')")
    page.fill("#id_from_date", FUTURE_MONDAY.isoformat())
    page.click("text=Show free times")
    page.locator("label", has_text=f"{FUTURE_MONDAY:%Y-%m-%d} 11:30").click()
    page.click("button:has-text('Move the appointment')")
    page.wait_for_selector("text=Appointment moved.")
    first.refresh_from_db(using="owner")
    assert first.starts_at == clinic_moment(FUTURE_MONDAY, 11, 30)

    page.locator("tbody tr", has_text="Testcancelling").get_by_role("link", name="Cancel").click()
    page.select_option("#id_reason", "clinician_unavailable")
    page.click("button:has-text('Cancel the appointment')")
    page.wait_for_selector("text=Appointment cancelled.")
    second.refresh_from_db(using="owner")
    assert (second.status, second.cancel_reason) == ("cancelled", "clinician_unavailable")
    assert "Testmoving" not in page.url and "Testcancelling" not in page.url
    assert csp_errors == []
