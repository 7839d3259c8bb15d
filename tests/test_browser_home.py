"""Each role's home page in Chromium, under the real CSP: with a day's data (README screenshots)
and in a brand-new clinic with no data. And the analyst's dashboard over the demo history
(seed_demo's own generators, scaled down): real shapes, with a few cells still suppressed."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management.base import OutputWrapper
from django.utils import timezone

from clinic import roles
from patients.demo import create_demo_patients
from records.demo import seed_visits_and_care_teams
from scheduling.models import Appointment
from scheduling.slots import day_bounds
from tests.analytics_helpers import refresh
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.conftest import current_code, give_totp
from tests.factories import (
    AppointmentFactory,
    BreakGlassGrantFactory,
    ClinicalRecordFactory,
    PatientFactory,
    StaffFactory,
    this_month,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]
NEEDS_CODE = {"privacy", "admin"}


def sign_in_as(page, live_url: str, staff: dict, persona: str) -> None:
    user = staff[persona]
    device = give_totp(user) if persona in NEEDS_CODE else None
    sign_in(page, live_url, user.username)
    if device is not None:
        page.wait_for_url("**/account/mfa/verify/**")
        page.fill("#id_otp_token", current_code(device))
        page.click("main button.primary")
    page.wait_for_url(f"{live_url}/")


def a_day_at_the_clinic(staff) -> list[Appointment]:
    """Three patients waiting, three expected (returned, soonest first), each with their own
    clinician (no overlap to refuse at any hour); two emergency accesses (one due for review),
    forty visits this month."""
    now = timezone.now()
    start, end = day_bounds(timezone.localdate(now))
    half_hour = datetime.timedelta(minutes=30)
    clinicians = [
        StaffFactory(group=roles.CLINICIAN, first_name="Dana", last_name=f"Testdoctor{n}")
        for n in range(6)
    ]
    for number, (first, last) in enumerate(
        [("Robin", "Testwaiting"), ("Sam", "Testarrived"), ("Alex", "Testearly")]
    ):
        arrived = max(now - datetime.timedelta(minutes=12 + 9 * number), start)
        AppointmentFactory(
            clinician=clinicians[number],
            patient=PatientFactory(first_name=first, last_name=last),
            starts_at=arrived,
            ends_at=arrived + half_hour,
            status=Appointment.ARRIVED,
            arrived_at=arrived,
        )
    expected = []
    for number, (first, last) in enumerate(
        [("Kim", "Testexpected"), ("Lee", "Testnext"), ("Max", "Testlater")]
    ):
        starts = min(
            now + datetime.timedelta(minutes=40 + 30 * number), end - datetime.timedelta(minutes=1)
        )
        appointment = AppointmentFactory(
            clinician=clinicians[3 + number],
            patient=PatientFactory(first_name=first, last_name=last),
            starts_at=starts,
            ends_at=starts + half_hour,
        )
        expected.append(appointment)
    BreakGlassGrantFactory(staff=staff["clinician"], hours=-1)
    BreakGlassGrantFactory(staff=staff["clinician2"])
    patient = PatientFactory()
    ClinicalRecordFactory.create_batch(
        40, patient=patient, provider=staff["clinician"], visit_date=this_month()
    )
    refresh()
    return expected


HOMES = {
    "frontdesk": ("home-front-desk", ["Waiting now", "Testwaiting", "Testexpected"]),
    "privacy": ("home-privacy-officer", ["awaiting review", "Locked out now"]),
    "analyst": ("", ["Key figures", "Visits per month"]),  # shot over the demo history below
    "admin": ("home-administrator", ["Needs attention", "t-outsider"]),
}


@pytest.mark.parametrize("persona", sorted(HOMES))
def test_each_role_works_from_its_home_page_in_chromium(page, live_url, staff, persona):
    page.set_default_timeout(30_000)
    a_day_at_the_clinic(staff)
    csp_errors = collect_csp_errors(page)
    sign_in_as(page, live_url, staff, persona)
    name, texts = HOMES[persona]
    main = page.inner_text("main")
    for text in texts:
        assert text in main
    if persona == "analyst":
        assert page.locator("#chart-months rect.chart-bar").count() >= 1
    if name:
        screenshot(page, name)
    assert csp_errors == []


def test_front_desk_checks_in_from_the_home_page(page, live_url, staff):
    page.set_default_timeout(30_000)
    first = a_day_at_the_clinic(staff)[0]
    sign_in_as(page, live_url, staff, "frontdesk")
    row = page.locator("section:has(#expected-heading) tbody tr", has_text="Testexpected")
    row.locator("button:has-text('Check in')").click()
    page.wait_for_selector("text=Marked arrived.")
    assert Appointment.objects.using("owner").get(pk=first.pk).status == Appointment.ARRIVED
    page.goto(f"{live_url}/")
    waiting = page.inner_text("section:has(#waiting-heading)")
    assert "Testexpected" in waiting


EMPTY = {
    "frontdesk": ["Nobody is waiting.", "No more appointments booked for today."],
    "privacy": ["Nothing to review.", "No flags.", "No account or address is locked out."],
    "analyst": ["No visits in this period."],
    "admin": ["Newest accounts"],
    "clinician": [],
}


def test_a_brand_new_clinic_shows_every_home_page_empty_in_chromium(browser, live_url, staff):
    refresh()  # rollups of nothing, as `make run` leaves them before any visit
    for persona, texts in EMPTY.items():
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(30_000)
        csp_errors = collect_csp_errors(page)
        sign_in_as(page, live_url, staff, persona)
        main = page.inner_text("main")
        for text in texts:
            assert text in main, persona
        assert "Something went wrong" not in main
        assert csp_errors == [], persona
        context.close()


def test_the_dashboard_shows_real_shapes_over_the_demo_history(page, live_url, staff):
    """seed_demo's generators (1,200 patients, about six visits each): two years of months,
    every month shown, and some cells still hidden."""
    page.set_default_timeout(60_000)
    command = type("Command", (), {"stdout": OutputWrapper(io.StringIO())})()
    create_demo_patients(1200, seed=2026)
    seed_visits_and_care_teams(
        command,
        {"clinician": staff["clinician"], "clinician2": staff["clinician2"]},
        {"seed": 2026, "visits_per_patient": 5},
    )
    refresh()
    sign_in_as(page, live_url, staff, "analyst")
    page.goto(f"{live_url}/analytics/")
    months = page.locator("#panel-months tbody tr")
    assert months.count() >= 24
    month_counts = [
        months.nth(i).locator("td").inner_text() for i in range(months.count() - 1)
    ]  # the current month may be a day old
    assert all(count.isdigit() and int(count) >= 11 for count in month_counts)
    assert page.locator("#chart-months rect.chart-bar").count() >= 24
    assert int(page.inner_text("#visit-total").replace(",", "")) > 4000
    hidden = page.locator("td.count", has_text="<11").count()
    assert hidden >= 1
    screenshot(page, "dashboard-demo")
    page.goto(f"{live_url}/")
    assert page.locator("#chart-months rect.chart-bar").count() >= 24
    screenshot(page, "home-analyst")
