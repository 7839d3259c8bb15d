"""The patient-flow board in Chromium, under the real CSP: it updates by itself after a check-in
made elsewhere (another front-desk request), without a reload, and its polling does not keep
an idle session alive (short limits: the live server runs in this process, so the settings
fixture and the refresh interval reach it). The clinician lands on "My day" and opens a booked
patient's chart without breaking the glass."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling import flow_views
from scheduling.models import Appointment
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import AppointmentFactory, PatientFactory, today_at

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


@pytest.fixture(autouse=True)
def quick_board(monkeypatch):
    monkeypatch.setattr(flow_views, "BOARD_REFRESH_SECONDS", 1)


def board_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/scheduling/board/rows" in r.url else None)
    return seen


def test_the_board_updates_after_a_check_in_made_elsewhere(page, live_url, staff, client_for):
    appointment = AppointmentFactory(
        clinician=staff["clinician"],
        patient=PatientFactory(first_name="Robin", last_name="Testboard"),
        starts_at=today_at(12),
    )
    AppointmentFactory(
        clinician=staff["clinician2"],
        patient=PatientFactory(first_name="Sam", last_name="Testwaiting"),
        starts_at=today_at(11),
    )
    csp_errors = collect_csp_errors(page)
    polls = board_requests(page)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/board/")
    row = page.locator("#flow-rows tr", has_text="Testboard")
    assert "Booked" in row.inner_text()
    loads = []
    page.on("load", lambda: loads.append(1))

    # Checked in from another desk (another session, another request).
    desk = client_for(staff["frontdesk"])
    step = reverse("scheduling:step", kwargs={"appointment_id": appointment.pk})
    assert desk.post(step, {"status": "arrived"}).status_code == 302
    assert Appointment.objects.using("owner").get(pk=appointment.pk).status == "arrived"

    page.locator("#flow-rows tr", has_text="Testboard").locator(
        ".flow-state", has_text="Arrived"
    ).wait_for(timeout=10_000)
    assert "waiting 0 min" in page.locator("#flow-rows tr", has_text="Testboard").inner_text()
    assert loads == []  # no reload: the script replaced the rows
    assert page.locator("#flow-updated").inner_text().startswith("updated ")
    assert polls and all(u.startswith(live_url) for u in polls)
    screenshot(page, "flow-board")
    assert csp_errors == []


def test_the_boards_polling_does_not_keep_an_idle_session(page, live_url, staff, settings):
    settings.SESSION_IDLE_SECONDS = 8
    settings.SESSION_EXPIRE_SECONDS = 8
    settings.SESSION_WARNING_SECONDS = 5
    AppointmentFactory(
        clinician=staff["clinician"],
        patient=PatientFactory(last_name="Testidle"),
        starts_at=today_at(12),
    )
    polls = board_requests(page)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/board/")
    # Only the board's (and the warning's) polling from here: the session still ends when idle.
    page.wait_for_url("**/account/sign-in/?expired=idle", timeout=20_000)
    assert len(polls) >= 4
    assert "Testidle" not in page.content()


def test_the_clinician_lands_on_my_day_and_opens_the_chart_without_breaking_the_glass(
    page, live_url, staff
):
    patient = PatientFactory(first_name="Robin", last_name="Testmyday")
    AppointmentFactory(
        clinician=staff["clinician"],
        patient=patient,
        starts_at=today_at(12),
        status="arrived",
        arrived_at=timezone.now() - datetime.timedelta(minutes=9),
    )
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    assert page.locator("h1").inner_text().startswith("My day")
    row = page.locator("#flow-rows tr", has_text="Testmyday")
    assert "waiting 9 min" in row.inner_text() or "waiting 10 min" in row.inner_text()
    screenshot(page, "my-day")
    row.get_by_role("link", name="Chart").click()
    page.wait_for_url(f"{live_url}/patients/{patient.pk}/visits/")
    assert page.locator("h1").inner_text() == "Visits"
    assert "Break the glass" not in page.inner_text("main")
    assert "Robin" not in page.url
    assert csp_errors == []
