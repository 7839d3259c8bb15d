"""axe-core in Chromium on every page each role can reach, with the empty and error states
(a form with errors, 403, 404): no violation on the project's own templates. One test per role,
one page each, so the browser and its page are reused across a role's walk. The pages carry
demo-like data: today's flow in every state (My day, the board), a chart with an entry of each
kind, right-of-access requests open and overdue."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone

from tests.browser_helpers import axe_violations, sign_in, sign_in_with_code
from tests.factories import (
    AccessRequestFactory,
    AllergyFactory,
    AppointmentFactory,
    AppointmentTypeFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    ConfidentialCommunicationFactory,
    DisclosureFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    RestrictionFactory,
    VitalSignsFactory,
    WorkingHoursFactory,
    monday_after_next,
    today_at,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


class Walk:
    """Visits pages and gathers axe-core's findings on each."""

    def __init__(self, page, live_url: str):
        self.page, self.live_url, self.found = page, live_url, []
        page.set_default_timeout(20_000)

    def check(self) -> None:
        self.found += axe_violations(self.page)

    def visit(self, path: str, *, status: int = 200) -> None:
        response = self.page.goto(self.live_url + path)
        assert response is not None and response.status == status, (path, response)
        self.check()

    def submit(self, button: str) -> None:
        with self.page.expect_navigation():
            self.page.click(button)
        self.check()


@pytest.fixture
def chart(staff):
    """A patient on the clinician's care team with a visit, and one the clinician may not see."""
    patient = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    outside = PatientFactory(first_name="Otherpatient", last_name="Zzyzx", ssn="900-00-0002")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    record = ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    return patient, outside, record


def todays_flow(staff, patient) -> None:
    """Today's appointments in each live state, as on the demo's board and My day."""
    now = timezone.now()
    minutes = datetime.timedelta(minutes=1)
    AppointmentFactory(
        clinician=staff["clinician"], patient=patient, starts_at=today_at(0), status="arrived",
        arrived_at=now - 12 * minutes,
    )  # fmt: skip
    AppointmentFactory(
        clinician=staff["clinician"], patient=PatientFactory(first_name="Fakeinroom"),
        starts_at=today_at(1), status="in_room", arrived_at=now - 40 * minutes,
        in_room_at=now - 33 * minutes,
    )  # fmt: skip
    AppointmentFactory(
        clinician=staff["clinician"], patient=PatientFactory(first_name="Fakeseen"),
        starts_at=today_at(2), status="seen", arrived_at=now - 90 * minutes,
        in_room_at=now - 80 * minutes,
    )  # fmt: skip
    AppointmentFactory(
        clinician=staff["clinician2"], patient=PatientFactory(first_name="Fakebooked"),
        starts_at=today_at(23),
    )  # fmt: skip


def test_signed_out_pages(page, live_url, staff):
    walk = Walk(page, live_url)
    walk.visit("/account/sign-in/")
    page.fill("#id_username", "t-nobody")
    page.fill("#id_password", "wrong password")
    walk.submit("button[type=submit]")
    walk.visit("/account/sign-in/?expired=idle")
    assert walk.found == [], walk.found


def test_front_desk_pages(page, live_url, staff, chart):
    patient, _outside, _record = chart
    WorkingHoursFactory(clinician=staff["clinician"])
    AppointmentTypeFactory()
    AppointmentFactory(patient=patient, clinician=staff["clinician"])
    walk = Walk(page, live_url)
    sign_in(page, live_url, "t-frontdesk")
    page.wait_for_url(f"{live_url}/")
    walk.check()
    walk.visit("/patients/search/")
    page.locator("form.search-mode").first.locator("button").click()
    page.wait_for_load_state()
    walk.check()  # the form with errors
    walk.visit("/patients/search/")
    page.fill("form.search-mode:has(#id_mrn) #id_mrn", patient.mrn)
    walk.submit("form.search-mode:has(#id_mrn) button")
    walk.visit(f"/patients/{patient.pk}/")
    walk.visit(f"/patients/{patient.pk}/edit/")
    walk.visit("/patients/new/")
    walk.submit("main button[type=submit]")  # empty: every field in error
    walk.visit(f"/patients/{patient.pk}/care-team/")
    walk.visit(f"/scheduling/patients/{patient.pk}/book/")
    walk.visit(f"/scheduling/day/?day={monday_after_next().isoformat()}")
    walk.visit("/scheduling/day/")
    todays_flow(staff, patient)
    walk.visit("/scheduling/board/")
    walk.visit("/scheduling/week/")
    walk.visit("/scheduling/re-arrange/")  # its empty state (the booking above is in hours)
    walk.visit("/account/sessions/")
    walk.visit("/account/password/")
    walk.visit("/account/mfa/")
    walk.visit(f"/patients/{uuid.uuid4()}/", status=404)
    walk.visit("/privacy/", status=403)
    assert walk.found == [], walk.found


def test_clinician_pages(page, live_url, staff, chart):
    patient, outside, record = chart
    todays_flow(staff, patient)
    walk = Walk(page, live_url)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    walk.check()  # My day, with today's flow
    walk.visit("/my-patients/")
    walk.visit(f"/patients/{patient.pk}/")
    walk.visit(f"/patients/{patient.pk}/visits/")
    walk.visit(f"/visits/{record.pk}/")
    walk.visit(f"/visits/{record.pk}/edit/")
    walk.visit(f"/patients/{patient.pk}/visits/new/")
    walk.submit("main button.primary")  # empty: errors
    walk.visit(f"/patients/{outside.pk}/visits/", status=403)
    walk.visit(f"/break-glass/{outside.pk}/")
    walk.submit("main button.danger")  # no reason chosen: errors
    walk.visit("/scheduling/day/")
    walk.visit("/scheduling/board/")
    walk.visit("/scheduling/re-arrange/", status=403)
    walk.visit("/analytics/", status=403)
    assert walk.found == [], walk.found


def test_clinician_chart_pages(page, live_url, staff, chart):
    patient, outside, _record = chart
    clinician = staff["clinician"]
    allergy = AllergyFactory(patient=patient, recorded_by=clinician)
    problem = ProblemFactory(patient=patient, recorded_by=clinician)
    medication = MedicationFactory(patient=patient, recorded_by=clinician)
    for days in (60, 30):
        vitals = VitalSignsFactory(
            patient=patient,
            recorded_by=clinician,
            taken_at=timezone.now() - datetime.timedelta(days=days),
        )
    walk = Walk(page, live_url)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    chart_of = f"/chart/patients/{patient.pk}"
    walk.visit(f"{chart_of}/")
    for section, button in (
        ("allergies", "Record allergy"),
        ("problems", "Add problem"),
        ("vitals", "Record vital signs"),
        ("medications", "Record medication"),
    ):
        walk.visit(f"{chart_of}/{section}/")
        walk.submit(f"main button:has-text('{button}')")  # empty: errors
    walk.visit(f"{chart_of}/vitals/blood-pressure/")
    walk.visit(f"{chart_of}/vitals/bmi/")
    walk.visit(f"/chart/allergies/{allergy.pk}/")
    walk.visit(f"/chart/problems/{problem.pk}/")
    walk.visit(f"/chart/medications/{medication.pk}/")
    walk.visit(f"/chart/vitals/{vitals.pk}/")
    walk.visit(f"/chart/patients/{outside.pk}/", status=403)
    assert walk.found == [], walk.found


def test_analyst_pages(page, live_url, staff, chart):
    walk = Walk(page, live_url)
    sign_in(page, live_url, "t-analyst")
    page.wait_for_url(f"{live_url}/")
    walk.check()
    walk.visit("/analytics/")
    walk.visit(f"/patients/{chart[0].pk}/", status=403)
    assert walk.found == [], walk.found


def test_privacy_officer_pages(page, live_url, staff, chart):
    patient, outside, _record = chart
    grant = BreakGlassGrantFactory(staff=staff["clinician2"], patient=outside)
    DisclosureFactory(patient=patient, recorded_by=staff["privacy"])
    walk = Walk(page, live_url)
    sign_in_with_code(page, live_url, staff["privacy"])
    walk.check()
    walk.visit("/privacy/")
    walk.visit("/privacy/access-log/")
    walk.visit("/privacy/access-log/?action=&staff=&date_from=")
    walk.visit(f"/privacy/patients/{patient.pk}/")
    walk.visit(f"/privacy/patients/{patient.pk}/disclosures/")
    walk.visit(f"/privacy/patients/{patient.pk}/disclosures/new/")
    walk.submit("main button[type=submit]")  # empty: errors
    walk.visit(f"/privacy/patients/{patient.pk}/disclosures/accounting/")
    walk.visit("/privacy/break-glass/")
    walk.visit(f"/privacy/break-glass/{grant.pk}/")
    walk.visit("/privacy/lockouts/")
    walk.visit("/privacy/flags/")
    walk.visit("/account/sessions/")
    walk.visit("/account/mfa/")
    assert walk.found == [], walk.found


def test_privacy_officer_rights_pages(page, live_url, staff, chart):
    patient = chart[0]
    AccessRequestFactory(
        patient=PatientFactory(first_name="Robin", last_name="Testoverdue"),
        received_on=timezone.localdate() - datetime.timedelta(days=33),
    )
    request = AccessRequestFactory(patient=patient, verified_by=staff["privacy"])
    walk = Walk(page, live_url)
    sign_in_with_code(page, live_url, staff["privacy"])
    walk.visit("/privacy/rights/")
    page.fill("#id_mrn", "not-an-mrn")
    walk.submit("main button:has-text('Find patient')")  # a malformed MRN: errors
    requests_of = f"/privacy/rights/patients/{patient.pk}/requests"
    walk.visit(f"{requests_of}/new/")
    walk.submit("main button:has-text('Record request')")  # empty: errors
    walk.visit(f"{requests_of}/{request.pk}/")
    walk.submit("main button:has-text('Extend')")  # no reason: errors
    walk.visit(f"{requests_of}/{request.pk}/")
    walk.submit("main button:has-text('Close request')")  # no outcome: errors
    walk.visit(f"{requests_of}/{uuid.uuid4()}/", status=404)
    assert walk.found == [], walk.found


def test_restriction_pages(page, live_url, staff, chart):
    """164.522: the privacy officer's restriction pages, the disclosure warning, and the front
    desk's summary with the banner and the alternative contact, and its edit page."""
    patient = chart[0]
    restriction = RestrictionFactory(patient=patient, category="health_plan_self_pay")
    ConfidentialCommunicationFactory(patient=patient)
    walk = Walk(page, live_url)
    sign_in_with_code(page, live_url, staff["privacy"])
    of = f"/privacy/rights/patients/{patient.pk}/restrictions"
    walk.visit(f"{of}/")
    walk.submit("main button:has-text('Record restriction')")  # empty: errors
    walk.visit(f"{of}/{restriction.pk}/")
    walk.visit(f"/privacy/patients/{patient.pk}/disclosures/new/")
    page.select_option("#id_category", "treatment_payment_operations")
    walk.submit("main button:has-text('Record disclosure')")  # the restriction's warning
    desk = page.context.browser.new_context().new_page()
    desk_walk = Walk(desk, live_url)
    sign_in(desk, live_url, "t-frontdesk")
    desk.wait_for_url(f"{live_url}/")
    desk_walk.visit(f"/patients/{patient.pk}/")
    desk_walk.visit(f"/patients/{patient.pk}/edit/")  # the alternative, the default marked
    desk.context.close()
    assert walk.found == [] and desk_walk.found == [], (walk.found, desk_walk.found)


def test_administrator_pages(page, live_url, staff):
    walk = Walk(page, live_url)
    sign_in_with_code(page, live_url, staff["admin"])
    walk.check()
    walk.visit("/account/sessions/")
    walk.visit("/account/mfa/")
    walk.visit(f"/patients/{uuid.uuid4()}/", status=403)
    walk.visit("/no-such-page/", status=404)
    assert walk.found == [], walk.found
