"""In Chromium: a clinician opens a patient's chart from "My patients", records an allergy, a
problem (with an ICD-10-CM suggestion) and vital signs, sees them in the banner and on the
summary, and opens the blood-pressure trend (SVG and its table). Under the real CSP.
UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/chart-summary.png and vitals-trend.png."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from chart.models import Allergy, Problem, VitalSigns
from tests.browser_helpers import collect_csp_errors, screenshot, sign_in
from tests.factories import (
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    VitalSignsFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_clinician_charts_allergy_problem_and_vitals_in_chromium(page, live_url, staff):
    clinician = staff["clinician"]
    patient = PatientFactory(
        first_name="Testpatient", last_name="Zzyzx", administrative_sex="female"
    )
    CareTeamMemberFactory(staff=clinician, patient=patient)
    ClinicalRecordFactory(patient=patient, provider=clinician, diagnosis_code="I10")
    MedicationFactory(patient=patient, recorded_by=clinician, start_date=datetime.date(2024, 1, 5))
    now = timezone.now()
    for days, (systolic, diastolic) in ((120, (152, 96)), (90, (146, 92)), (60, (141, 90)),
                                        (30, (136, 86))):  # fmt: skip
        VitalSignsFactory(
            patient=patient,
            recorded_by=clinician,
            taken_at=now - datetime.timedelta(days=days),
            systolic=systolic,
            diastolic=diastolic,
        )
    csp_errors = collect_csp_errors(page)
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url(f"{live_url}/")
    page.click("text=My patients")
    page.click(f"a[href='/chart/patients/{patient.pk}/']")
    assert "Allergies not recorded" in page.inner_text(".chart-banner")

    page.click(".chart-nav >> text=Allergies")
    page.fill("#id_substance", "Fakecillin")
    page.fill("#id_reaction", "Fake hives")
    page.select_option("#id_severity", "severe")
    page.click("text=Record allergy")
    page.wait_for_selector("text=Allergy recorded.")
    assert "Fakecillin (severe)" in page.inner_text(".chart-banner")

    page.click(".chart-nav >> text=Problems")
    page.locator("#id_icd10_code").press_sequentially("essential hyper", delay=20)
    suggestion = page.locator("#icd10-suggestions button[data-code='I10']")
    suggestion.wait_for()
    suggestion.click()
    page.fill("#id_onset_date", "2023-06-01")
    page.click("text=Add problem")
    page.wait_for_selector("text=Problem added.")

    page.click(".chart-nav >> text=Vital signs")
    page.fill("#id_systolic", "400")
    page.fill("#id_diastolic", "80")
    page.click("button:has-text('Record vital signs')")
    page.wait_for_selector("text=Systolic blood pressure above 260 mmHg is not plausible")
    assert VitalSigns.objects.using("owner").count() == 4
    page.fill("#id_systolic", "132")
    page.fill("#id_diastolic", "84")
    page.fill("#id_heart_rate", "71")
    page.fill("#id_temperature", "36.7")
    page.fill("#id_spo2", "98")
    page.fill("#id_weight", "68.5")
    page.fill("#id_height", "170")
    page.click("button:has-text('Record vital signs')")
    page.wait_for_selector("text=Vital signs recorded.")

    page.click(".chart-nav >> text=Summary")
    main = page.inner_text("main")
    for text in ("Essential (primary) hypertension", "Fakecillin", "Fake hives",
                 "Fakepril 10 mg tablet", "132", "23.7"):  # fmt: skip
        assert text in main, text
    screenshot(page, "chart-summary")

    page.click("text=Vital signs and trends")
    page.click("text=Blood pressure")
    page.wait_for_selector("svg.trend-chart")
    assert page.locator("svg.trend-chart circle").count() == 10
    assert page.locator(".trend-table tbody tr").count() == 5
    screenshot(page, "vitals-trend")
    assert csp_errors == []

    assert Allergy.objects.using("owner").get().recorded_by_id == clinician.pk
    assert Problem.objects.using("owner").get().icd10_code == "I10"
    assert VitalSigns.objects.using("owner").count() == 5
