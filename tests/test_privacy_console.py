"""The privacy officer's console: search and export, access reports, disclosures, reviews,
lockouts and flags. Privacy officers only; everyone else gets 403 and an access-log event."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone

from accounts.lockout import username_key
from clinic import access_log
from clinic.staff_identity import set_token
from localdb import cluster
from privacy.models import Disclosure, accounting_period_start
from records.models import BreakGlassGrant
from tests.conftest import PASSWORD, TEST_DATABASE
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    DisclosureFactory,
    PatientFactory,
)
from tests.privacy_helpers import actions, events
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def append(staff_id, action, patient_id=None, role="clinic_clinician"):
    """An event by `staff_id` acting as `role`, named to the database as a request would."""
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        set_token("owner", staff_id, role)
        cursor.execute(
            access_log.APPEND_SQL,
            [action, str(patient_id) if patient_id else None, "", None, "ok", ""],
        )


def console_urls(patient, grant) -> list[str]:
    base = f"/privacy/patients/{patient.pk}"
    return [
        "/privacy/",
        "/privacy/access-log/",
        "/privacy/access-log.csv",
        f"{base}/",
        f"{base}/disclosures/",
        f"{base}/disclosures/new/",
        f"{base}/disclosures/accounting/",
        "/privacy/break-glass/",
        f"/privacy/break-glass/{grant.pk}/",
        "/privacy/lockouts/",
        "/privacy/flags/",
    ]


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "admin", "outsider"])
def test_everyone_but_the_privacy_officer_is_refused_and_logged(
    client_for, staff, patient, persona
):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    client = client_for(staff[persona])
    urls = console_urls(patient, grant)
    for url in urls:
        assert client.get(url).status_code == 403, url
    for url in ["/privacy/patients/find/", "/privacy/lockouts/unlock/"]:
        data = {"mode": "mrn", "mrn": patient.mrn, "username": "t-x"}
        assert client.post(url, data).status_code == 403
    assert actions().count(access_log.ACCESS_REFUSED) == len(urls) + 2
    assert not any(e.patient_id for e in events(action=access_log.ACCESS_REPORT_VIEWED))


def test_privacy_officer_opens_every_page(client_for, staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    client = client_for(staff["privacy"])
    for url in console_urls(patient, grant):
        if url.endswith(".csv"):
            assert client.get(url).status_code == 405  # the export is POSTed with its filters
            continue
        assert client.get(url).status_code == 200, url


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/privacy/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_home_links_to_the_console(client_for, staff):
    assert b"/privacy/access-log/" in client_for(staff["privacy"]).get("/").content


# --- access-log search and export ------------------------------------------------------------


def test_search_filters_by_staff_patient_action_and_dates(client_for, staff, patient):
    other = PatientFactory(last_name="Testother")
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["clinician"].pk, access_log.CHART_VIEWED, other.pk)
    append(staff["clinician2"].pk, access_log.RECORD_VIEWED, patient.pk)
    client = client_for(staff["privacy"])

    def count(**query):
        response = client.post("/privacy/access-log/", query)
        assert response.status_code == 200
        return response.context["page"].paginator.count

    assert count(staff=staff["clinician"].pk) == 2
    assert count(patient_id=str(patient.pk)) == 2
    assert count(patient_id=str(patient.pk), action=access_log.RECORD_VIEWED) == 1
    today = timezone.localdate()
    assert count(date_from=today.isoformat(), action=access_log.CHART_VIEWED) == 2
    assert count(date_to=(today - timedelta(days=1)).isoformat()) == 0


def test_search_rejects_a_bad_patient_id_and_backwards_dates(client_for, staff):
    client = client_for(staff["privacy"])
    response = client.post("/privacy/access-log/", {"patient_id": "Testperson"})
    assert response.context["page"] is None
    assert b"valid UUID" in response.content
    response = client.post(
        "/privacy/access-log/", {"date_from": "2026-02-02", "date_to": "2026-02-01"}
    )
    assert b"before the start date" in response.content


def test_search_is_paginated(client_for, staff):
    for _ in range(55):
        append(staff["clinician"].pk, access_log.CHART_VIEWED)
    client = client_for(staff["privacy"])
    first = client.post("/privacy/access-log/", {"action": access_log.CHART_VIEWED})
    assert len(first.context["page"].object_list) == 50
    second = client.post("/privacy/access-log/", {"action": access_log.CHART_VIEWED, "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert b"Page 2 of 2" in second.content


def test_csv_export_has_the_filtered_events_and_is_logged(client_for, staff, patient):
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["clinician"].pk, access_log.CHART_VIEWED)
    response = client_for(staff["privacy"]).post(
        "/privacy/access-log.csv", {"patient_id": str(patient.pk)}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    assert rows[0]["patient_id"] == str(patient.pk) and rows[0]["username"] == "t-clinician"
    (export,) = events(action=access_log.EXPORT)
    assert export.staff_id == staff["privacy"].pk and export.patient_id == patient.pk
    assert export.outcome == "1 rows"


# --- per-patient access report ---------------------------------------------------------------


def test_find_patient_by_mrn_is_posted_and_leads_to_the_report(client_for, staff, patient):
    client = client_for(staff["privacy"])
    response = client.post("/privacy/patients/find/", {"mode": "mrn", "mrn": patient.mrn})
    assert response["Location"] == f"/privacy/patients/{patient.pk}/"
    missing = client.post(
        "/privacy/patients/find/", {"mode": "mrn", "mrn": "000000000"}, follow=True
    )
    assert b"No patient matches" in missing.content


def test_report_shows_who_accessed_when_and_why(client_for, staff, patient):
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    BreakGlassGrantFactory(
        staff=staff["clinician"], patient=patient, reason_text="Testcovering night shift"
    )
    append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["clinician2"].pk, access_log.RECORD_VIEWED, patient.pk)
    append(staff["frontdesk"].pk, access_log.CHART_VIEWED, patient.pk, role="clinic_front_desk")
    response = client_for(staff["privacy"]).get(f"/privacy/patients/{patient.pk}/")
    assert response.status_code == 200
    basis = {row.username: row.basis for row in response.context["rows"]}
    assert basis["t-clinician"] == "break the glass: Medical emergency"
    assert basis["t-clinician2"] == "care team"
    assert basis["t-frontdesk"] == "front desk"
    assert b"Testperson" in response.content  # whose report it is
    assert b"Testcovering night shift" in response.content
    (viewed,) = events(action=access_log.ACCESS_REPORT_VIEWED)
    assert viewed.patient_id == patient.pk


def test_report_for_an_unknown_patient_is_not_found_and_logged(client_for, staff):
    response = client_for(staff["privacy"]).get(f"/privacy/patients/{UNKNOWN}/")
    assert response.status_code == 404
    assert access_log.ACCESS_REFUSED in actions()


def test_privacy_officer_reads_only_name_and_mrn_of_identities(staff, patient):
    from django.db import DatabaseError, transaction

    from clinic.db_context import apply_context

    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="default"):
            apply_context("clinic_privacy_officer", staff["privacy"].pk)
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT ssn FROM patient_identities")


# --- disclosures -----------------------------------------------------------------------------

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


# --- break-the-glass review ------------------------------------------------------------------


def test_queue_lists_unreviewed_grants_first(client_for, staff, patient):
    reviewed = BreakGlassGrantFactory(
        staff=staff["clinician"], patient=patient, reviewed_at=timezone.now()
    )
    waiting = BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    response = client_for(staff["privacy"]).get("/privacy/break-glass/")
    order = [grant.pk for grant, _name in response.context["rows"]]
    assert order == [waiting.pk, reviewed.pk]
    assert b"awaiting review" in response.content


def test_sign_off_records_the_review_and_logs_it(client_for, staff, patient):
    grant = BreakGlassGrantFactory(
        staff=staff["clinician"], patient=patient, reason_text="Testreason"
    )
    client = client_for(staff["privacy"])
    page = client.get(f"/privacy/break-glass/{grant.pk}/")
    assert b"Testreason" in page.content
    assert client.post(f"/privacy/break-glass/{grant.pk}/", {"comment": ""}).status_code == 200
    assert BreakGlassGrant.objects.using("owner").get().reviewed_at is None
    response = client.post(f"/privacy/break-glass/{grant.pk}/", {"comment": "Justified."})
    assert response.status_code == 302
    grant.refresh_from_db(using="owner")
    assert grant.reviewed_by_id == staff["privacy"].pk and grant.review_comment == "Justified."
    (event,) = events(action=access_log.BREAK_GLASS_REVIEWED)
    assert event.object_id == str(grant.pk) and event.patient_id == patient.pk


def test_a_review_is_final(client_for, staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    client = client_for(staff["privacy"])
    assert (
        client.post(f"/privacy/break-glass/{grant.pk}/", {"comment": "First."}).status_code == 302
    )
    second = client.post(f"/privacy/break-glass/{grant.pk}/", {"comment": "Second."})
    assert second.status_code == 409
    assert b"A review is final" in second.content
    grant.refresh_from_db(using="owner")
    assert grant.review_comment == "First."
    assert len(events(action=access_log.BREAK_GLASS_REVIEWED)) == 1


def test_unknown_grant_is_not_found(client_for, staff):
    assert client_for(staff["privacy"]).get(f"/privacy/break-glass/{UNKNOWN}/").status_code == 404


# --- lockouts --------------------------------------------------------------------------------


def lock_out(client, username="t-frontdesk", ip="10.0.0.1"):
    for _ in range(5):
        sign_in(client, username, "wrong-password-1", REMOTE_ADDR=ip)


def test_locked_out_account_is_listed_and_unlocked(client, client_for, staff):
    from django.test import Client

    lock_out(client)
    assert sign_in(client, "t-frontdesk", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 429
    officer = client_for(staff["privacy"])
    page = officer.get("/privacy/lockouts/")
    (row,) = page.context["accounts"]
    assert row["account"] == "t-frontdesk" and row["value"] == username_key("t-frontdesk")
    assert b"t-frontdesk" in page.content
    response = officer.post("/privacy/lockouts/unlock/", {"username": row["value"]})
    assert response.status_code == 302
    (event,) = events(action=access_log.UNLOCK)
    assert (
        event.object_id == f"user:{staff['frontdesk'].pk}" and event.staff_id == staff["privacy"].pk
    )
    assert "t-frontdesk" not in event.object_id
    assert sign_in(Client(), "t-frontdesk", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 302


def test_a_locked_name_that_is_no_account_is_shown_only_as_such(client, client_for, staff):
    from axes.models import AccessAttempt

    typed = "Sentinel-typed-in-name-field"
    lock_out(client, username=typed, ip="10.0.0.3")
    page = client_for(staff["privacy"]).get("/privacy/lockouts/")
    (row,) = page.context["accounts"]
    assert row["account"] == "" and b"no such account" in page.content
    assert typed.encode() not in page.content
    # Axes' own tables never held the typed text: not as the username, not in the form copy.
    for attempt in AccessAttempt.objects.using("owner").all():
        assert typed not in attempt.username and typed not in attempt.post_data
    response = client_for(staff["privacy"]).post(
        "/privacy/lockouts/unlock/", {"username": row["value"]}
    )
    assert response.status_code == 302
    (event,) = events(action=access_log.UNLOCK)
    assert event.object_id == "user:unknown"
    assert not AccessAttempt.objects.using("owner").exists()


def test_locked_out_address_is_listed_and_unlocked(client, client_for, staff):
    from django.test import Client

    for name in ("t-a", "t-b", "t-c", "t-d", "t-e"):
        sign_in(client, name, "wrong", REMOTE_ADDR="10.9.9.9")
    officer = client_for(staff["privacy"])
    page = officer.get("/privacy/lockouts/")
    assert [row["value"] for row in page.context["addresses"]] == ["10.9.9.9"]
    officer.post("/privacy/lockouts/unlock/", {"ip_address": "10.9.9.9"})
    assert sign_in(Client(), "t-analyst", PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_unlock_needs_an_account_or_address(client_for, staff):
    response = client_for(staff["privacy"]).post("/privacy/lockouts/unlock/", {}, follow=True)
    assert b"Choose an account or an address" in response.content
    assert access_log.UNLOCK not in actions()


# --- flags -----------------------------------------------------------------------------------


@override_settings(PRIVACY_FLAG_OUTSIDE_CARE_TEAM=3)
def test_flags_clinician_viewing_many_charts_outside_their_care_team(client_for, staff):
    mine = PatientFactory(last_name="Testmine")
    CareTeamMemberFactory(staff=staff["clinician2"], patient=mine)
    for n in range(3):
        append(staff["clinician"].pk, access_log.CHART_VIEWED, PatientFactory(last_name=f"T{n}").pk)
    for _ in range(5):
        append(staff["clinician2"].pk, access_log.RECORD_VIEWED, mine.pk)
    append(staff["clinician2"].pk, access_log.CHART_VIEWED, PatientFactory(last_name="Tx").pk)
    response = client_for(staff["privacy"]).get("/privacy/flags/")
    flagged = [(f.username, f.patients) for f in response.context["outside_care_team"]]
    assert flagged == [("t-clinician", 3)]


def _at_local_time(event_ids, when: list[datetime]) -> None:
    """Move appended events to fixed clinic times (as the superuser: the log is append-only)."""
    with cluster.superuser_connect(TEST_DATABASE) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for event_id, at in zip(event_ids, when, strict=True):
            conn.execute("UPDATE access_log SET occurred_at = %s WHERE id = %s", [at, event_id])


def test_flags_views_outside_clinic_hours(client_for, staff, patient):
    """Fixed clinic times on both sides of each edge of 07-19, so it proves the same thing at
    every hour the suite runs: 06:59 and 19:00 are flagged, 07:00 and 18:59 are not."""
    for _ in range(4):
        append(staff["clinician"].pk, access_log.CHART_VIEWED, patient.pk)
    append(staff["clinician2"].pk, access_log.CHART_VIEWED, patient.pk)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT id FROM access_log WHERE action = %s ORDER BY id", ["chart_viewed"])
        ids = [row[0] for row in cursor.fetchall()]
    zone = timezone.get_current_timezone()
    day = timezone.localdate() - timedelta(days=1)
    times = [(6, 59), (7, 0), (18, 59), (19, 0), (12, 0)]
    _at_local_time(ids, [datetime.combine(day, time(h, m), tzinfo=zone) for h, m in times])
    officer = client_for(staff["privacy"])
    with override_settings(CLINIC_HOURS="07-19"):
        flagged = officer.get("/privacy/flags/").context["outside_hours"]
    assert [(f.username, f.events) for f in flagged] == [("t-clinician", 2)]
    with override_settings(CLINIC_HOURS="00-24"):
        assert officer.get("/privacy/flags/").context["outside_hours"] == []
