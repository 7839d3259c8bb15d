"""The privacy officer's console: search and export, access reports, reviews, lockouts and
flags (the disclosures: tests/test_privacy_disclosures.py). Privacy officers only; everyone else
gets 403 and an access-log event."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone

from accounts.lockout import username_key
from clinic import access_log
from localdb import cluster
from records.models import BreakGlassGrant
from tests.conftest import PASSWORD, TEST_DATABASE
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    PatientFactory,
)
from tests.privacy_helpers import actions, append, events
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")

UNKNOWN = "00000000-0000-4000-8000-000000000000"


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
    from django.db import DatabaseError

    from clinic.db_context import apply_context

    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="default"):
            apply_context("clinic_privacy_officer", staff["privacy"].pk)
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT ssn FROM patient_identities")


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
