"""The accounting of disclosures (45 CFR 164.528) in the privacy officer's console: recording
a disclosure (its free text encrypted), the six-year accounting and what it leaves out, and the
temporary suspension of 164.528(a)(2). Privacy officers only (the console's refusals:
tests/test_privacy_console.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from clinic import access_log
from privacy.models import Disclosure, accounting_period_start
from tests.factories import DisclosureFactory, PatientFactory
from tests.privacy_helpers import actions, events

pytestmark = pytest.mark.usefixtures("clinic_db")

DISCLOSURE = {
    "disclosed_on": "2026-01-05",
    "recipient": "Test County Health Department",
    "recipient_address": "1 Test Plaza",
    "description": "Testimmunization history",
    "purpose": "Test public health reporting",
    "category": "public_health",
}


def test_recording_a_disclosure_encrypts_its_free_text(client_for, staff, patient):
    response = client_for(staff["privacy"]).post(
        f"/privacy/patients/{patient.pk}/disclosures/new/", DISCLOSURE
    )
    assert response.status_code == 302
    disclosure = Disclosure.objects.using("owner").get()
    assert disclosure.recipient == DISCLOSURE["recipient"]
    assert disclosure.recorded_by_id == staff["privacy"].pk
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT recipient, description, purpose::text FROM disclosures")
        stored = " ".join(cursor.fetchone())
    assert "Test County" not in stored and "Testimmunization" not in stored
    (event,) = events(action=access_log.DISCLOSURE_RECORDED)
    assert event.reason == "public_health" and event.object_id == str(disclosure.pk)


def test_disclosure_in_the_future_or_without_recipient_is_refused(client_for, staff, patient):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    client = client_for(staff["privacy"])
    url = f"/privacy/patients/{patient.pk}/disclosures/new/"
    response = client.post(url, {**DISCLOSURE, "disclosed_on": tomorrow, "recipient": ""})
    assert response.status_code == 200
    assert b"cannot be in the future" in response.content
    assert b"This field is required" in response.content
    assert not Disclosure.objects.using("owner").exists()


def test_accounting_covers_six_years_and_leaves_out_excluded_categories(client_for, staff, patient):
    today = timezone.localdate()
    officer = staff["privacy"]
    DisclosureFactory(
        patient=patient,
        recorded_by=officer,
        category="public_health",
        disclosed_on=today,
        purpose="Testpurpose-included",
    )
    # Exactly the period's first day (in) and the day before it (out), whatever today is.
    DisclosureFactory(
        patient=patient,
        recorded_by=officer,
        category="law_enforcement",
        disclosed_on=accounting_period_start(today),
        purpose="Testpurpose-old",
    )
    DisclosureFactory(
        patient=patient,
        recorded_by=officer,
        category="judicial",
        disclosed_on=accounting_period_start(today) - timedelta(days=1),
        purpose="Testpurpose-tooold",
    )
    for category in ("treatment_payment_operations", "to_individual", "authorization",
                     "facility_directory", "national_security", "correctional_custody",
                     "limited_data_set", "incidental"):  # fmt: skip
        DisclosureFactory(
            patient=patient,
            recorded_by=officer,
            category=category,
            disclosed_on=today,
            purpose=f"Testpurpose-{category}",
        )
    other = PatientFactory(last_name="Testother")
    DisclosureFactory(
        patient=other,
        recorded_by=officer,
        category="public_health",
        disclosed_on=today,
        purpose="Testpurpose-otherpatient",
    )
    response = client_for(officer).get(f"/privacy/patients/{patient.pk}/disclosures/accounting/")
    body = response.content.decode()
    assert "Testpurpose-included" in body and "Testpurpose-old" in body
    assert "Testpurpose-tooold" not in body
    assert "Testpurpose-otherpatient" not in body
    assert "Testpurpose-treatment" not in body and "Testpurpose-limited" not in body
    assert len(response.context["disclosures"]) == 2
    assert 'href="/static/css/print.css" media="print"' in body
    assert access_log.DISCLOSURE_ACCOUNTING in actions()
    listing = client_for(officer).get(f"/privacy/patients/{patient.pk}/disclosures/")
    assert b"Testpurpose-treatment_payment_operations" in listing.content  # recorded, marked
    assert b"no (excluded)" in listing.content


@pytest.mark.parametrize(
    "today,first_day",
    [
        (date(2025, 3, 1), date(2019, 3, 1)),
        (date(2025, 12, 31), date(2019, 12, 31)),
        (date(2025, 1, 1), date(2019, 1, 1)),
        # From 29 February the period starts on 28 February six years back (no 29th then):
        # one day more than six years, never one day less.
        (date(2024, 2, 29), date(2018, 2, 28)),
        (date(2020, 2, 29), date(2014, 2, 28)),
    ],
)
def test_accounting_period_is_six_years_to_the_day_for_a_fixed_today(
    staff, patient, today, first_day
):
    """For a fixed "today": a disclosure on the period's first day is in the accounting, one on
    the day before is not (so neither a 5- nor a 7-year period would pass)."""
    assert accounting_period_start(today) == first_day
    officer = staff["privacy"]
    inside = DisclosureFactory(patient=patient, recorded_by=officer, disclosed_on=first_day)
    DisclosureFactory(
        patient=patient, recorded_by=officer, disclosed_on=first_day - timedelta(days=1)
    )
    found = Disclosure.objects.using("owner").accounting_for(patient.pk, today=today)
    assert [d.pk for d in found] == [inside.pk]


def test_a_suspension_ending_today_is_still_in_force(staff, patient):
    """164.528(a)(2): a suspension "until" a day covers that whole day; the day after, the
    disclosure is back in the accounting."""
    today = date(2025, 6, 10)
    officer = staff["privacy"]
    disclosure = DisclosureFactory(
        patient=patient,
        recorded_by=officer,
        category="law_enforcement",
        disclosed_on=date(2025, 6, 1),
    )
    Disclosure.objects.using("owner").filter(pk=disclosure.pk).update(
        suspended_until=today,
        suspension_kind="written",
        suspension_stated_on=date(2025, 6, 2),
        suspension_statement="Test Agency, Officer Testname",
        suspension_recorded_by=officer,
    )
    accounting = Disclosure.objects.using("owner").accounting_for
    assert list(accounting(patient.pk, today=today)) == []
    assert [d.pk for d in accounting(patient.pk, today=today + timedelta(days=1))] == [
        disclosure.pk
    ]
    stored = Disclosure.objects.using("owner").get(pk=disclosure.pk)
    assert stored.is_suspended(today) and not stored.is_suspended(today + timedelta(days=1))


# --- 164.528(a)(2) temporary suspension ------------------------------------------------------


def suspension(kind="written", stated_on=None, days=90, statement="Test Agency, Officer Testname"):
    stated_on = stated_on or timezone.localdate()
    return {
        "suspension_kind": kind,
        "suspension_stated_on": stated_on.isoformat(),
        "suspended_until": (stated_on + timedelta(days=days)).isoformat(),
        "suspension_statement": statement,
    }


def suspend_url(patient, disclosure) -> str:
    return f"/privacy/patients/{patient.pk}/disclosures/{disclosure.pk}/suspend/"


def test_a_suspension_leaves_the_disclosure_out_of_the_accounting_while_in_force(
    client_for, staff, patient
):
    officer = client_for(staff["privacy"])
    today = timezone.localdate()
    held = DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="law_enforcement",
        disclosed_on=today,
        purpose="Testpurpose-held",
    )
    DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="public_health",
        disclosed_on=today,
        purpose="Testpurpose-shown",
    )
    assert officer.get(suspend_url(patient, held)).status_code == 200
    response = officer.post(suspend_url(patient, held), suspension(days=90))
    assert response.status_code == 302
    accounting = f"/privacy/patients/{patient.pk}/disclosures/accounting/"
    body = officer.get(accounting).content.decode()
    assert "Testpurpose-shown" in body and "Testpurpose-held" not in body
    listing = officer.get(f"/privacy/patients/{patient.pk}/disclosures/").content.decode()
    until = (today + timedelta(days=90)).isoformat()
    assert f"no: suspended until {until} (written statement)" in listing
    stored = Disclosure.objects.using("owner").get(pk=held.pk)
    assert stored.suspension_recorded_by_id == staff["privacy"].pk
    assert stored.suspension_statement == "Test Agency, Officer Testname"
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT suspension_statement FROM disclosures WHERE disclosure_id = %s", [held.pk]
        )
        assert "Test Agency" not in cursor.fetchone()[0]
    (event,) = events(action=access_log.DISCLOSURE_SUSPENDED)
    assert event.object_id == str(held.pk) and event.reason == "written"
    # When the suspension ends, the disclosure is accounted for again.
    Disclosure.objects.using("owner").filter(pk=held.pk).update(
        suspended_until=today - timedelta(days=1)
    )
    assert "Testpurpose-held" in officer.get(accounting).content.decode()


def test_an_oral_statement_suspends_for_at_most_30_days_until_the_written_one(
    client_for, staff, patient
):
    officer = client_for(staff["privacy"])
    held = DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="health_oversight",
        disclosed_on=timezone.localdate(),
        purpose="Testpurpose-held",
    )
    response = officer.post(suspend_url(patient, held), suspension(kind="oral", days=31))
    assert response.status_code == 200
    assert b"An oral statement suspends for at most 30 days" in response.content
    assert Disclosure.objects.using("owner").get(pk=held.pk).suspended_until is None
    assert (
        officer.post(suspend_url(patient, held), suspension(kind="oral", days=30)).status_code
        == 302
    )
    # The written statement arrives and replaces the oral one, for longer.
    assert officer.post(suspend_url(patient, held), suspension(days=180)).status_code == 302
    stored = Disclosure.objects.using("owner").get(pk=held.pk)
    assert stored.suspension_kind == "written"
    assert stored.suspended_until == timezone.localdate() + timedelta(days=180)
    assert [e.reason for e in events(action=access_log.DISCLOSURE_SUSPENDED)] == ["oral", "written"]


def test_bad_suspensions_are_refused_with_a_message_and_change_nothing(client_for, staff, patient):
    officer = client_for(staff["privacy"])
    today = timezone.localdate()
    shown = DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="public_health",
        disclosed_on=today,
        purpose="Testpurpose",
    )
    response = officer.post(suspend_url(patient, shown), suspension())
    assert b"Only disclosures to a health oversight agency" in response.content
    held = DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="law_enforcement",
        disclosed_on=today,
        purpose="Testpurpose",
    )
    tomorrow = today + timedelta(days=1)
    for form, message in (
        (suspension(days=-1), b"cannot end before the statement"),
        (suspension(stated_on=tomorrow), b"A statement cannot be in the future"),
        ({**suspension(), "suspension_statement": ""}, b"This field is required"),
    ):
        response = officer.post(suspend_url(patient, held), form)
        assert response.status_code == 200 and message in response.content
    assert not Disclosure.objects.using("owner").filter(suspended_until__isnull=False).exists()
    assert access_log.DISCLOSURE_SUSPENDED not in actions()


def test_suspending_another_patients_disclosure_is_not_found_and_logged(client_for, staff, patient):
    other = PatientFactory(last_name="Testother")
    theirs = DisclosureFactory(
        patient=other,
        recorded_by=staff["privacy"],
        category="law_enforcement",
        disclosed_on=timezone.localdate(),
        purpose="Testpurpose",
    )
    response = client_for(staff["privacy"]).post(suspend_url(patient, theirs), suspension())
    assert response.status_code == 404
    assert Disclosure.objects.using("owner").get(pk=theirs.pk).suspended_until is None
    assert access_log.ACCESS_REFUSED in actions()


@pytest.mark.parametrize("persona", ["clinician", "frontdesk", "analyst"])
def test_only_privacy_officers_may_suspend(client_for, staff, patient, persona):
    held = DisclosureFactory(
        patient=patient,
        recorded_by=staff["privacy"],
        category="law_enforcement",
        disclosed_on=timezone.localdate(),
        purpose="Testpurpose",
    )
    response = client_for(staff[persona]).post(suspend_url(patient, held), suspension())
    assert response.status_code == 403
    assert Disclosure.objects.using("owner").get(pk=held.pk).suspended_until is None
