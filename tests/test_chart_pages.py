"""The clinician's chart through its pages: banner, allergies, problems, vital signs,
medications, summary; every view and change logged; bad input refused with a message and
nothing saved; front desk, analyst and clinicians outside the care team refused (logged)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chart.models import Allergy, AllergyReview, ChartHistory, Medication, Problem, VitalSigns
from clinic import access_log
from tests.factories import (
    AllergyFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    VitalSignsFactory,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
OWNER = "owner"


@pytest.fixture
def patient(staff):
    patient = PatientFactory(
        first_name="Testpatient", last_name="Zzyzx", administrative_sex="female"
    )
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    return patient


def url(name: str, **kwargs) -> str:
    return reverse(f"chart:{name}", kwargs=kwargs)


def taken_at(hours_ago: int = 1) -> str:
    return (timezone.localtime() - datetime.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M")


def test_summary_shows_banner_and_sections_and_is_logged(client_for, staff, patient):
    AllergyFactory(patient=patient, recorded_by=staff["clinician"], severity="severe")
    ProblemFactory(patient=patient, recorded_by=staff["clinician"])
    MedicationFactory(patient=patient, recorded_by=staff["clinician"])
    VitalSignsFactory(patient=patient, recorded_by=staff["clinician"])
    ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    response = client_for(staff["clinician"]).get(url("summary", patient_id=patient.pk))
    page = response.content.decode()
    assert response.status_code == 200
    age = (
        timezone.localdate().year
        - 1980
        - (timezone.localdate() < datetime.date(timezone.localdate().year, 4, 30))
    )
    for text in ("Zzyzx, Testpatient", f"{age} y", "Female", patient.mrn,
                 "Fakecillin (severe)", "Essential (primary) hypertension",
                 "Fakepril 10 mg tablet", "128", "24.7", "J06.9"):  # fmt: skip
        assert text in page, text
    assert "Emergency access (break the glass)" not in page
    [event] = events(access_log.CHART_SECTION_VIEWED)
    assert (event.patient_id, event.reason, event.staff_id) == (
        patient.pk,
        "summary",
        staff["clinician"].pk,
    )


def test_summary_takes_few_queries(client_for, staff, patient):
    for _ in range(3):
        AllergyFactory(patient=patient, recorded_by=staff["clinician"])
        ProblemFactory(patient=patient, recorded_by=staff["clinician"])
        MedicationFactory(patient=patient, recorded_by=staff["clinician"])
        VitalSignsFactory(patient=patient, recorded_by=staff["clinician"])
        ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    client = client_for(staff["clinician"])
    client.get(url("summary", patient_id=patient.pk))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("summary", patient_id=patient.pk)).status_code == 200
    tables = ("chart_", "clinical_records", "patient_identities")
    chart_queries = [
        q["sql"]
        for q in queries.captured_queries
        if any(t in q["sql"] for t in tables) and "append_access_event" not in q["sql"]
    ]
    # Patient (with may-see, care team, no-known-allergies), allergies, problems,
    # medications, vital signs, visits: one each, whatever the number of items.
    assert len(chart_queries) == 6, "\n".join(q[:60] for q in chart_queries)
    # The rest is every signed-in page's: session, user, groups, role switch, MFA devices,
    # break-the-glass banner, the access event (savepoint), commit, session save; and the user
    # read as its own session's user (BEGIN, naming, COMMIT: accounts/user_lookup.py).
    assert len(queries.captured_queries) <= 22


def test_allergy_states_unknown_none_listed(client_for, staff, patient):
    client = client_for(staff["clinician"])
    assert "Allergies not recorded" in client.get(url("summary", patient_id=patient.pk)).text
    response = client.post(url("no-known-allergies", patient_id=patient.pk), {"confirm": "on"})
    assert response.status_code == 302
    assert "No known allergies" in client.get(url("summary", patient_id=patient.pk)).text
    response = client.post(
        url("allergies", patient_id=patient.pk),
        {"substance": "Fakeazole", "reaction": "Fake hives", "severity": "mild"},
    )
    assert response.status_code == 302
    page = client.get(url("summary", patient_id=patient.pk)).text
    assert "Fakeazole (mild)" in page and "No known allergies" not in page
    review = AllergyReview.objects.using(OWNER).get(patient=patient)
    assert review.no_known_allergies is False
    [allergy] = Allergy.objects.using(OWNER).filter(patient=patient)
    assert allergy.recorded_by_id == staff["clinician"].pk
    [created] = events(access_log.CHART_ITEM_RECORDED, reason="allergy")
    assert created.object_id == str(allergy.pk)
    # With an active allergy, "no known allergies" is refused with a message.
    response = client.post(url("no-known-allergies", patient_id=patient.pk), {"confirm": "on"})
    assert response.status_code == 200
    assert "An active allergy is on file" in response.text
    assert not AllergyReview.objects.using(OWNER).get(patient=patient).no_known_allergies


def test_allergy_resolve_and_entered_in_error_keep_history(client_for, staff, patient):
    client = client_for(staff["clinician"])
    client.post(url("allergies", patient_id=patient.pk), {"substance": "Fakeazole"})
    allergy = Allergy.objects.using(OWNER).get(patient=patient)
    edit = url("allergy-edit", allergy_id=allergy.pk)
    form = {"substance": "Fakeazole", "reaction": "", "severity": "", "status": "resolved"}
    assert client.post(edit, form).status_code == 302
    assert client.post(edit, {**form, "status": "entered_in_error"}).status_code == 302
    page = client.get(edit).text
    assert "entered in error" in page
    assert '<form method="post" novalidate>' not in page  # no more changes offered
    history = ChartHistory.objects.using(OWNER).filter(item_id=str(allergy.pk))
    assert [h.operation for h in history.order_by("history_id")] == ["INSERT", "UPDATE", "UPDATE"]
    assert {h.changed_by_id for h in history} == {staff["clinician"].pk}
    assert "Fakeazole" not in str([h.row for h in history])  # ciphertext in the history
    assert page.count("Resolved") >= 1 and "Entered in error" in page
    assert len(events(access_log.CHART_ITEM_CHANGED, reason="allergy")) == 2


def test_problem_add_resolve_reactivate(client_for, staff, patient):
    client = client_for(staff["clinician"])
    response = client.post(
        url("problems", patient_id=patient.pk),
        {"icd10_code": "e11.9", "onset_date": "2021-03-01", "note": "Fake note"},
    )
    assert response.status_code == 302
    problem = Problem.objects.using(OWNER).get(patient=patient)
    assert (problem.icd10_code, problem.status, problem.note) == ("E11.9", "active", "Fake note")
    status = url("problem-status", problem_id=problem.pk)
    assert (
        client.post(status, {"action": "resolve", "resolved_on": "2022-01-01"}).status_code == 302
    )
    problem.refresh_from_db(using=OWNER)
    assert (problem.status, problem.resolved_on) == ("resolved", datetime.date(2022, 1, 1))
    assert client.post(status, {"action": "reactivate"}).status_code == 302
    problem.refresh_from_db(using=OWNER)
    assert (problem.status, problem.resolved_on) == ("active", None)
    page = client.get(url("problem-edit", problem_id=problem.pk)).text
    assert "Type 2 diabetes mellitus without complications" in page
    assert page.count("Changed") == 2


@pytest.mark.parametrize(
    "form, message",
    [
        ({"icd10_code": "E11"}, "Not a billable ICD-10-CM code"),
        ({"icd10_code": "ZZZ.99"}, "Not a billable ICD-10-CM code"),
        ({"icd10_code": "I10", "onset_date": "2999-01-01"}, "The onset cannot be in the future"),
    ],
)
def test_problem_bad_input_saves_nothing(client_for, staff, patient, form, message):
    response = client_for(staff["clinician"]).post(url("problems", patient_id=patient.pk), form)
    assert response.status_code == 200
    assert message in response.text and "Nothing was saved" in response.text
    assert not Problem.objects.using(OWNER).exists()


def test_problem_resolution_before_onset_is_refused(client_for, staff, patient):
    problem = ProblemFactory(patient=patient, recorded_by=staff["clinician"])
    response = client_for(staff["clinician"]).post(
        url("problem-status", problem_id=problem.pk),
        {"action": "resolve", "resolved_on": "2019-01-01"},
    )
    assert response.status_code == 200
    assert "cannot be before the onset" in response.text
    problem.refresh_from_db(using=OWNER)
    assert problem.status == "active"


def test_vitals_recorded_with_bmi_and_trend(client_for, staff, patient):
    client = client_for(staff["clinician"])
    for hours, systolic in ((30, 150), (2, 135)):
        response = client.post(
            url("vitals", patient_id=patient.pk),
            {
                "taken_at": taken_at(hours),
                "systolic": systolic,
                "diastolic": 85,
                "heart_rate": 70,
                "temperature": "36.8",
                "spo2": 98,
                "weight": "81.0",
                "height": "180.0",
            },  # fmt: skip
        )
        assert response.status_code == 302
    assert VitalSigns.objects.using(OWNER).count() == 2
    page = client.get(url("vitals", patient_id=patient.pk)).text
    assert "25.0" in page  # BMI of 81 kg at 1.80 m
    trend = client.get(url("vitals-trend", patient_id=patient.pk, measure="blood-pressure"))
    assert trend.status_code == 200
    assert "<svg" in trend.text and "<polyline" in trend.text
    assert "8480-6" in trend.text and "8462-4" in trend.text
    assert trend.text.count("<circle") == 4
    assert "<td>150</td>" in trend.text and "<td>135</td>" in trend.text
    assert [e.reason for e in events(access_log.CHART_SECTION_VIEWED)] == [
        "vital_signs",
        "vital_signs_trend",
    ]
    missing = client.get(url("vitals-trend", patient_id=patient.pk, measure="mood"))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "form, message",
    [
        ({"systolic": 400, "diastolic": 80}, "Systolic blood pressure above 260 mmHg is not"),
        ({"heart_rate": 5}, "Heart rate below 20 /min is not plausible"),
        ({"temperature": "98.6"}, "Body temperature above 45"),
        ({"spo2": 101}, "above 100 % is not plausible"),
        ({"systolic": 120}, "Enter both blood pressure values"),
        ({"systolic": 80, "diastolic": 90}, "must be below the systolic"),
        ({}, "Enter at least one measurement"),
    ],
)
def test_implausible_vitals_are_refused(client_for, staff, patient, form, message):
    response = client_for(staff["clinician"]).post(
        url("vitals", patient_id=patient.pk), {"taken_at": taken_at(), **form}
    )
    assert response.status_code == 200
    assert message in response.text
    assert not VitalSigns.objects.using(OWNER).exists()


def test_vitals_in_the_future_are_refused(client_for, staff, patient):
    response = client_for(staff["clinician"]).post(
        url("vitals", patient_id=patient.pk), {"taken_at": taken_at(-3), "heart_rate": 70}
    )
    assert "cannot be taken in the future" in response.text
    assert not VitalSigns.objects.using(OWNER).exists()


def test_vitals_marked_in_error_leave_the_trend(client_for, staff, patient):
    vitals = VitalSignsFactory(patient=patient, recorded_by=staff["clinician"])
    client = client_for(staff["clinician"])
    assert client.post(url("vitals-in-error", vitals_id=vitals.pk)).status_code == 302
    vitals.refresh_from_db(using=OWNER)
    assert vitals.entered_in_error
    trend = client.get(url("vitals-trend", patient_id=patient.pk, measure="heart-rate")).text
    assert "<circle" not in trend


def test_medication_add_and_stop(client_for, staff, patient):
    client = client_for(staff["clinician"])
    response = client.post(
        url("medications", patient_id=patient.pk),
        {
            "name": "Fakeformin 500 mg tablet",
            "dose": "1 tablet",
            "route": "oral",
            "frequency": "twice a day",
            "start_date": "2024-01-01",
        },  # fmt: skip
    )
    assert response.status_code == 302
    medication = Medication.objects.using(OWNER).get(patient=patient)
    edit = url("medication-edit", medication_id=medication.pk)
    bad = {"name": "Fakeformin 500 mg tablet", "route": "oral", "start_date": "2024-01-01",
           "stop_date": "2023-01-01", "status": "stopped"}  # fmt: skip
    assert "cannot be before the start date" in client.post(edit, bad).text
    medication.refresh_from_db(using=OWNER)
    assert medication.status == "active"
    assert client.post(edit, {**bad, "stop_date": "2024-06-01"}).status_code == 302
    medication.refresh_from_db(using=OWNER)
    assert (medication.status, medication.stop_date) == ("stopped", datetime.date(2024, 6, 1))
    summary = client.get(url("summary", patient_id=patient.pk)).text
    assert "No current medications recorded" in summary


PATIENT_PAGES = ("summary", "allergies", "problems", "vitals", "medications")


@pytest.mark.parametrize("who", ["frontdesk", "analyst", "privacy", "admin"])
@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_other_roles_are_refused_and_logged(client_for, staff, patient, who, page):
    response = client_for(staff[who]).get(url(page, patient_id=patient.pk))
    assert response.status_code == 403
    [refused] = events(access_log.ACCESS_REFUSED)
    assert (refused.patient_id, refused.staff_id) == (patient.pk, staff[who].pk)
    assert not events(access_log.CHART_SECTION_VIEWED)


def test_front_desk_cannot_post_an_allergy(client_for, staff, patient):
    response = client_for(staff["frontdesk"]).post(
        url("allergies", patient_id=patient.pk), {"substance": "Fakeazole"}
    )
    assert response.status_code == 403
    assert not Allergy.objects.using(OWNER).exists()


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_clinician_outside_the_care_team_is_refused_and_logged(client_for, staff, patient, page):
    response = client_for(staff["clinician2"]).get(url(page, patient_id=patient.pk))
    assert response.status_code == 403
    assert "Break the glass" in response.text
    [refused] = events(access_log.ACCESS_REFUSED)
    assert (refused.patient_id, refused.reason) == (patient.pk, "not on care team")


def test_outsider_items_do_not_exist(client_for, staff, patient):
    allergy = AllergyFactory(patient=patient, recorded_by=staff["clinician"])
    problem = ProblemFactory(patient=patient, recorded_by=staff["clinician"])
    client = client_for(staff["clinician2"])
    assert client.get(url("allergy-edit", allergy_id=allergy.pk)).status_code == 404
    assert (
        client.post(url("problem-status", problem_id=problem.pk), {"action": "resolve"}).status_code
        == 404
    )
    problem.refresh_from_db(using=OWNER)
    assert problem.status == "active"
    assert len(events(access_log.ACCESS_REFUSED)) == 2


def test_break_the_glass_opens_the_chart_with_a_marker(client_for, staff, patient):
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    client = client_for(staff["clinician2"])
    response = client.get(url("summary", patient_id=patient.pk))
    assert response.status_code == 200
    assert "Emergency access (break the glass): not on your care team" in response.text
    response = client.post(url("allergies", patient_id=patient.pk), {"substance": "Fakeazole"})
    assert response.status_code == 302
    assert Allergy.objects.using(OWNER).get().recorded_by_id == staff["clinician2"].pk


def test_reactivating_an_allergy_withdraws_no_known_allergies(client_for, staff, patient):
    allergy = AllergyFactory(patient=patient, recorded_by=staff["clinician"], status="resolved")
    client = client_for(staff["clinician"])
    client.post(url("no-known-allergies", patient_id=patient.pk), {"confirm": "on"})
    assert AllergyReview.objects.using(OWNER).get(patient=patient).no_known_allergies
    form = {"substance": "Fakecillin", "reaction": "", "severity": "", "status": "active"}
    response = client.post(url("allergy-edit", allergy_id=allergy.pk), form)
    assert response.status_code == 302
    review = AllergyReview.objects.using(OWNER).get(patient=patient)
    assert (review.no_known_allergies, review.recorded_by_id) == (False, staff["clinician"].pk)
    assert "Fakecillin" in client.get(url("summary", patient_id=patient.pk)).text
