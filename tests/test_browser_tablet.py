"""The calendar pages on a tablet and by keyboard, in Chromium under the real CSP (issue 17:
"all keyboard-usable and readable on a tablet").

At 768x1024 (portrait) and 1024x768 (landscape), the day view, the week view, the booking form
and the patient-flow board: the page never scrolls sideways (a wide table scrolls inside its
own box), and every button and link in a table row, and each button and choice of the booking
form, is at least 44 px high (WCAG 2.5.5's target size). Then the front desk books with the
keyboard alone: Tab to a free slot of the day view, Enter, the patient search, the type, the
preselected time, Book, back on the day with the appointment."""

from __future__ import annotations

import datetime

import pytest

from scheduling.models import Appointment
from tests.browser_helpers import collect_csp_errors, sign_in
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
    today_at,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]

TABLETS = [{"width": 768, "height": 1024}, {"width": 1024, "height": 768}]
TOUCH_PX = 44
ROW_TARGETS = "main tbody tr a, main tbody tr button"
FORM_TARGETS = "main form button, main form label:has(input[type=radio])"
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
SMALL_TARGETS = """([selector, least]) => [...document.querySelectorAll(selector)]
    .filter((e) => e.offsetParent !== null)
    .map((e) => [e.getBoundingClientRect().height, e.tagName + ' ' + e.textContent.trim()])
    .filter(([height]) => height < least)"""


@pytest.fixture
def day(staff):
    """Today: a patient waiting and one booked (the board, check-in); the future Monday: two
    booked and free time (the day and week views, booking)."""
    WorkingHoursFactory(
        clinician=staff["clinician"], starts_at=datetime.time(8), ends_at=datetime.time(17)
    )
    kind = AppointmentTypeFactory(name="Follow-up", default_minutes=30)
    AppointmentFactory(clinician=staff["clinician"], appointment_type=kind,
                       starts_at=today_at(0, 30), status="arrived",
                       arrived_at=today_at(0, 25))  # fmt: skip
    AppointmentFactory(clinician=staff["clinician"], appointment_type=kind,
                       starts_at=today_at(1))  # fmt: skip
    for hour in (9, 11):
        AppointmentFactory(clinician=staff["clinician"], appointment_type=kind,
                           starts_at=clinic_moment(FUTURE_MONDAY, hour))  # fmt: skip
    return kind


def pages(live_url: str, staff, day, patient) -> dict[str, str]:
    clinician = staff["clinician"].pk
    return {
        "day view (today)": f"{live_url}/scheduling/day/",
        "day view (free time)": f"{live_url}/scheduling/day/?date={FUTURE_MONDAY}",
        "week view": f"{live_url}/scheduling/week/?clinician={clinician}&date={FUTURE_MONDAY}",
        "booking form": f"{live_url}/scheduling/patients/{patient.pk}/book/?clinician="
        f"{clinician}&appointment_type={day.pk}&from_date={FUTURE_MONDAY}",
        "flow board": f"{live_url}/scheduling/board/",
    }


@pytest.mark.parametrize("viewport", TABLETS, ids=["portrait", "landscape"])
def test_calendar_pages_fit_a_tablet_with_touch_sized_targets(
    browser, live_url, staff, day, viewport
):
    patient = PatientFactory(first_name="Robin", last_name="Testtablet")
    page = browser.new_context(viewport=viewport).new_page()
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    found = {}
    for name, url in pages(live_url, staff, day, patient).items():
        page.goto(url)
        targets = page.locator(ROW_TARGETS).count() + page.locator(FORM_TARGETS).count()
        assert targets, f"{name}: nothing to touch"
        found[name] = {
            "overflow px": page.evaluate(OVERFLOW),
            "small targets": page.evaluate(SMALL_TARGETS, [ROW_TARGETS, TOUCH_PX])
            + page.evaluate(SMALL_TARGETS, [FORM_TARGETS, TOUCH_PX]),
        }
    assert {name: f["overflow px"] for name, f in found.items() if f["overflow px"] > 0} == {}
    assert {name: f["small targets"] for name, f in found.items() if f["small targets"]} == {}
    assert csp_errors == []
    page.context.close()


def tab_to(page, selector: str, text: str = "", limit: int = 120) -> None:
    """Press Tab until the focused element matches `selector` (and holds `text`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "([s, t]) => { const e = document.activeElement;"
            " return !!e && e.matches(s) && e.textContent.includes(t); }",
            [selector, text],
        ):
            return
    raise AssertionError(f"Tab never reached {selector} {text!r}")


def test_front_desk_books_with_the_keyboard_alone(browser, live_url, staff, day):
    patient = PatientFactory(first_name="Robin", last_name="Testkeyboard")
    page = browser.new_context(viewport=TABLETS[1]).new_page()
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/day/?date={FUTURE_MONDAY}")

    tab_to(page, "tr.free-time a", "Book 09:30")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Back to the calendar")
    tab_to(page, "input[name=mrn]")
    page.keyboard.type(patient.mrn)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Book for this patient")
    tab_to(page, "a", "Book for this patient")
    page.keyboard.press("Enter")
    page.wait_for_selector("#id_appointment_type")
    tab_to(page, "#id_appointment_type")
    page.keyboard.press("F")  # the first type starting with F: Follow-up
    tab_to(page, "button", "Show free times")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=starts_at]")
    assert page.locator("input[name=starts_at]").first.is_checked()  # the slot chosen
    tab_to(page, "button", "Book")
    page.keyboard.press("Enter")

    page.wait_for_selector("text=Appointment booked.")
    assert f"date={FUTURE_MONDAY}" in page.url
    booked = Appointment.objects.using("owner").get(patient=patient)
    assert booked.starts_at == clinic_moment(FUTURE_MONDAY, 9, 30)
    page.context.close()


def test_front_desk_pages_through_clinicians_with_the_keyboard(browser, live_url, staff):
    """The day view's pages of clinicians (scheduling/day_pages.py): the picker and the page
    links by keyboard alone; the URL carries the date, a page number and an id only."""
    from django.contrib.auth import get_user_model

    from clinic import roles
    from scheduling.day_pages import PAGE_SIZE
    from tests.factories import StaffFactory

    get_user_model().objects.using("owner").filter(
        pk__in=[staff["clinician"].pk, staff["clinician2"].pk]
    ).update(is_active=False)
    doctors = [
        StaffFactory(group=roles.CLINICIAN, first_name="Fake", last_name=f"Doc{chr(65 + n)}")
        for n in range(PAGE_SIZE + 1)
    ]
    last = PatientFactory(first_name="Robin", last_name="Testlastpage")
    for doctor in doctors[:-1]:
        AppointmentFactory(clinician=doctor)
    AppointmentFactory(clinician=doctors[-1], patient=last)
    page = browser.new_context(viewport=TABLETS[1]).new_page()
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    page.goto(f"{live_url}/scheduling/day/?date={FUTURE_MONDAY}")
    assert page.locator("section.day-column").count() == PAGE_SIZE
    assert "Testlastpage" not in page.content()

    tab_to(page, "#day-clinician")
    page.keyboard.press("End")  # the last clinician by name
    tab_to(page, "button", "Go")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/scheduling/day/?date={FUTURE_MONDAY}&page=2#clinician-{doctors[-1].pk}")
    assert page.locator(f"#clinician-{doctors[-1].pk}", has_text="Testlastpage").is_visible()

    tab_to(page, "a", "Previous clinicians")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/scheduling/day/?date={FUTURE_MONDAY}&page=1")
    assert page.locator("section.day-column").count() == PAGE_SIZE
    assert last.mrn not in page.url and "Testlastpage" not in page.url
    assert csp_errors == []
    page.context.close()
