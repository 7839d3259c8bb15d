"""The visit summary for the patient (issue #19, "also" under 45 CFR 164.524): from the visit page,
a clinician who may see the visit (care team or break the glass) gets a one-visit PDF (text
extracted with pypdf) holding exactly this visit and this patient's chart as it stands, with the
patient's name on every page; producing it is an access-log event tied to the patient, with no
name in the URL or the log; every other role is refused (403, logged with the patient), and so
is a clinician outside the care team; the database gives those callers none of the rows the
summary reads (raw SQL injected into their signed-in request)."""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import date

import pytest
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from pypdf import PdfReader

from chart.models import AllergyReview
from clinic import access_log
from rights.models import DENIED
from rights.visit_summary import NOT_ASKED, UNSIGNED_NOTE
from tests.db_helpers import request_cursor
from tests.factories import (
    AllergyFactory,
    AmendmentRequestFactory,
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
    VisitAddendumFactory,
    VitalSignsFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")

VISIT_DAY = date(2024, 2, 3)
THIS_NOTE = "Fake note: sentinel-this-visit-3a1f, knee better."
OTHER_VISIT_NOTE = "Fake note: sentinel-other-visit-8c2d, never in this summary."
OTHER_PATIENT_NOTE = "Fake note: sentinel-other-patient-5e7b, never in this summary."


def summary_url(record) -> str:
    return f"/privacy/rights/visits/{record.pk}/summary/"


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


@pytest.fixture
def visit(staff):
    """A signed visit of a patient on t-clinician's care team, with an addendum, the patient's
    chart (current and past items), another visit, and another patient with their own chart."""
    own = PatientFactory(first_name="Testpatient", last_name="Zzyzx")
    other = PatientFactory(first_name="Otherpatient", last_name="Qwxyz")
    CareTeamMemberFactory(staff=staff["clinician"], patient=own)
    CareTeamMemberFactory(staff=staff["clinician"], patient=other)
    record = ClinicalRecordFactory(
        patient=own,
        provider=staff["clinician"],
        signed=True,
        visit_date=VISIT_DAY,
        notes=THIS_NOTE,
        diagnosis_code="M25561",
    )
    VisitAddendumFactory(record=record, text="Fake addendum: sentinel-addendum-6d0a.")
    ClinicalRecordFactory(
        patient=own, provider=staff["clinician"], signed=True, notes=OTHER_VISIT_NOTE
    )
    ProblemFactory(patient=own, icd10_code="I10", note="")
    ProblemFactory(
        patient=own,
        icd10_code="E119",
        status="resolved",
        resolved_on=date(2021, 1, 2),
        note="",
    )
    AllergyFactory(patient=own, substance="Fakecillin-current")
    AllergyFactory(patient=own, substance="Fakemistake-error", status="entered_in_error")
    MedicationFactory(patient=own, name="Fakepril-current")
    MedicationFactory(patient=own, name="Fakestatin-stopped", status="stopped")
    VitalSignsFactory(patient=own, taken_at=clinic_moment(VISIT_DAY, 10), heart_rate=61)
    VitalSignsFactory(patient=own, heart_rate=88)
    ClinicalRecordFactory(patient=other, signed=True, notes=OTHER_PATIENT_NOTE)
    AllergyFactory(patient=other, substance="Fakeother-allergy")
    MedicationFactory(patient=other, name="Fakeother-drug")
    return record


def test_summary_holds_this_visit_and_this_patients_chart_only(staff, client_for, visit, caplog):
    caplog.set_level(logging.DEBUG)
    response = client_for(staff["clinician"]).post(summary_url(visit))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert str(visit.patient_id) not in response["Content-Disposition"]
    assert str(visit.pk) in response["Content-Disposition"]
    pages = pdf_pages(response.content)
    produced = timezone.localdate().isoformat()
    for text in pages:
        assert "Testpatient Zzyzx" in text
    whole = "\n".join(pages)
    for expected in (
        "Visit summary for Testpatient Zzyzx",
        f"{settings.CLINIC_NAME} · visit on {VISIT_DAY.isoformat()} · produced {produced}",
        f"Visit on {VISIT_DAY.isoformat()}",
        "Clinician: t-clinician",
        "M25.561",
        "Pain in right knee",
        "sentinel-this-visit-3a1f",
        "sentinel-addendum-6d0a",
        "I10",
        "Fakecillin-current",
        "Fakepril-current",
        "Vital signs taken on the day of the visit",
        "Heart rate 61",
        f"{VISIT_DAY.isoformat()} 10:00",  # taken at 10:00 on the clinic's clock, shown so
    ):
        assert expected in whole, expected
    for foreign in (
        "sentinel-other-visit-8c2d",  # another visit of the same patient
        "sentinel-other-patient-5e7b",  # another patient
        "Otherpatient",
        "Qwxyz",
        "Fakeother-allergy",
        "Fakeother-drug",
        "E11.9",  # a resolved problem
        "Fakemistake-error",  # an allergy entered in error
        "Fakestatin-stopped",  # a stopped medication
        "Heart rate 88",  # a later set: the visit's day has its own
    ):
        assert foreign not in whole, foreign
    [event] = events(access_log.VISIT_SUMMARY_PRODUCED)
    assert (event.patient_id, event.object_id) == (visit.patient_id, str(visit.pk))
    assert event.staff_id == staff["clinician"].pk
    assert event.reason == f"pdf sha256:{hashlib.sha256(response.content).hexdigest()}"
    # No PHI in the URL nor in anything logged while producing it.
    for phi in ("Testpatient", "Zzyzx", visit.patient.mrn, "sentinel-this-visit"):
        assert phi not in summary_url(visit)
        assert phi not in caplog.text
        assert phi not in event.reason


def test_an_unsigned_note_is_left_out_and_said_so(staff, client_for, visit):
    unsigned = ClinicalRecordFactory(
        patient=visit.patient,
        provider=staff["clinician"],
        visit_date=VISIT_DAY,
        notes="Fake draft: sentinel-draft-0b4c.",
    )
    response = client_for(staff["clinician"]).post(summary_url(unsigned))
    assert response.status_code == 200
    whole = " ".join(" ".join(pdf_pages(response.content)).split())
    assert "sentinel-draft-0b4c" not in whole
    assert UNSIGNED_NOTE in whole


def test_allergies_not_asked_or_none_known_and_the_latest_vitals(staff, client_for):
    patient = PatientFactory(first_name="Testpatient", last_name="Nkaone")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    record = ClinicalRecordFactory(patient=patient, signed=True, visit_date=VISIT_DAY)
    VitalSignsFactory(patient=patient, heart_rate=77)
    client = client_for(staff["clinician"])
    whole = " ".join(pdf_pages(client.post(summary_url(record)).content))
    assert " ".join(NOT_ASKED.split()) in " ".join(whole.split())
    assert "Latest vital signs" in whole and "Heart rate 77" in whole
    AllergyReview.objects.using("owner").create(patient=patient, recorded_by=staff["clinician"])
    whole = " ".join(pdf_pages(client.post(summary_url(record)).content))
    assert "No known allergies" in whole and "Not asked" not in whole


def test_a_clinician_under_a_break_the_glass_grant_may_produce_it(staff, client_for, visit):
    BreakGlassGrantFactory(staff=staff["clinician2"], patient=visit.patient)
    response = client_for(staff["clinician2"]).post(summary_url(visit))
    assert response.status_code == 200
    assert "sentinel-this-visit-3a1f" in "".join(pdf_pages(response.content))


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "admin", "privacy", "clinician2"])
def test_other_roles_and_a_clinician_outside_the_care_team_are_refused(
    staff, client_for, visit, persona
):
    response = client_for(staff[persona]).post(summary_url(visit))
    assert response.status_code == 403
    assert b"%PDF" not in response.content
    assert b"sentinel-this-visit" not in response.content
    [refusal] = events(access_log.ACCESS_REFUSED)
    assert refusal.patient_id == visit.patient_id
    assert refusal.staff_id == staff[persona].pk
    assert events(access_log.VISIT_SUMMARY_PRODUCED) == []


def test_only_post_produces_it(staff, client_for, visit):
    assert client_for(staff["clinician"]).get(summary_url(visit)).status_code == 405
    assert events(access_log.VISIT_SUMMARY_PRODUCED) == []


# What the summary reads (rights/visit_summary.py), as raw SQL a caller could inject.
SUMMARY_READS = (
    "SELECT notes FROM clinical_records WHERE patient_id = %s",
    "SELECT text FROM visit_addenda WHERE patient_id = %s",
    "SELECT icd10_code FROM chart_problems WHERE patient_id = %s",
    "SELECT substance FROM chart_allergies WHERE patient_id = %s",
    "SELECT no_known_allergies FROM chart_allergy_reviews WHERE patient_id = %s",
    "SELECT name FROM chart_medications WHERE patient_id = %s",
    "SELECT heart_rate FROM chart_vital_signs WHERE patient_id = %s",
)


def rows_or_refused(user, statement: str, patient_id) -> list | str:
    try:
        with request_cursor(user) as cursor:
            cursor.execute(statement, [str(patient_id)])
            return cursor.fetchall()
    except DatabaseError:
        return "refused"


def test_the_database_gives_the_care_team_clinician_every_read(staff, visit):
    AllergyReview.objects.using("owner").create(
        patient=visit.patient, recorded_by=staff["clinician"], no_known_allergies=False
    )
    for statement in SUMMARY_READS:
        assert rows_or_refused(staff["clinician"], statement, visit.patient_id) not in (
            [],
            "refused",
        ), statement


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "admin", "privacy", "clinician2"])
def test_the_database_refuses_the_summarys_reads_to_other_callers(staff, visit, persona):
    """Row-level security and the grants, not only the page: a caller refused by the page gets
    no row the summary reads (permission denied, or no rows)."""
    AllergyReview.objects.using("owner").create(
        patient=visit.patient, recorded_by=staff["clinician"], no_known_allergies=False
    )
    for statement in SUMMARY_READS:
        assert rows_or_refused(staff[persona], statement, visit.patient_id) in (
            [],
            "refused",
        ), statement


# --- after a denied amendment (164.526(d)(4), (5)) --------------------------------------------

DISAGREEMENT = "Fake statement: sentinel-disagree-1e9c, I never said that."


def deny(record, staff, disagreement: str = DISAGREEMENT):
    today = timezone.localdate()
    return AmendmentRequestFactory(
        record=record,
        outcome=DENIED,
        decided_on=today,
        decided_by=record.provider,
        denial_ground="accurate",
        denial_reason="Fake reason: sentinel-denial-7a3b, accurate.",
        disagreement=disagreement,
        disagreement_on=today,
    )


def test_a_denied_amendment_goes_with_the_note_whoever_on_the_care_team_prints_it(
    staff, client_for, visit
):
    """The author reads the request routed to them; another clinician on the care team reads it
    only through the database's visit_amendment_statements: both summaries carry it."""
    deny(visit, staff)
    other_visit = ClinicalRecordFactory(
        patient=visit.patient, provider=staff["clinician"], signed=True
    )
    deny(other_visit, staff, "Fake statement: sentinel-other-disagree-4d2e.")
    CareTeamMemberFactory(staff=staff["clinician2"], patient=visit.patient)
    for persona in ("clinician", "clinician2"):
        response = client_for(staff[persona]).post(summary_url(visit))
        whole = " ".join(" ".join(pdf_pages(response.content)).split())
        assert "Statement of disagreement" in whole and DISAGREEMENT in whole, persona
        assert "sentinel-denial-7a3b" in whole, persona
        assert "sentinel-other-disagree-4d2e" not in whole, persona


STATEMENTS = "SELECT disagreement FROM visit_amendment_statements(%s)"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("clinician", 1),  # the author, on the care team
        ("clinician2", 0),  # outside the care team, no grant: no row
        ("frontdesk", "refused"),  # no EXECUTE for any other role
        ("analyst", "refused"),
        ("admin", "refused"),
        ("privacy", "refused"),
    ],
)
def test_the_statements_function_answers_clinicians_who_may_see_the_patient_only(
    staff, visit, persona, expected
):
    deny(visit, staff)
    found = rows_or_refused(staff[persona], STATEMENTS, visit.pk)
    assert (len(found) if isinstance(found, list) else found) == expected


def test_the_statements_function_gives_no_open_or_accepted_request(staff, visit):
    AmendmentRequestFactory(record=visit)
    assert rows_or_refused(staff["clinician"], STATEMENTS, visit.pk) == []


def test_a_chart_entrys_amendment_and_a_denial_go_with_the_entry(staff, client_for, visit):
    """164.526(c)(1), (d)(4): what a request attached to a chart entry is printed under it."""
    from tests.test_rights_amendments_items import decide_url, record

    amended = AllergyFactory(
        patient=visit.patient, recorded_by=staff["clinician"], substance="Fakeamendol"
    )
    denied = MedicationFactory(
        patient=visit.patient, recorded_by=staff["clinician"], name="Fakedeniol"
    )
    privacy, clinician = staff["privacy"], staff["clinician"]
    accepted = record(client_for(privacy), visit.patient, f"allergy:{amended.pk}")
    refused = record(client_for(privacy), visit.patient, f"medication:{denied.pk}")
    client = client_for(clinician)
    response = client.post(
        decide_url(accepted),
        {"decision": "accept", "amendment": "Fake: sentinel-allergy-amended-41c", "notify": ""},
    )
    assert response.status_code == 302
    response = client.post(
        decide_url(refused),
        {"decision": "deny", "denial_ground": "accurate", "denial_reason": "Fake reason"},
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    text = "\n".join(pdf_pages(client_for(clinician).post(summary_url(visit)).content))
    flat = " ".join(text.split())
    assert "sentinel-allergy-amended-41c" in flat
    assert flat.index("Fakeamendol") < flat.index("sentinel-allergy-amended-41c")
    assert flat.index("Fakedeniol") < flat.index("Denial of amendment")
