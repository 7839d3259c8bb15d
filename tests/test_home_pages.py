"""Each role's home page is its working surface: the front desk's today (who waits, who is
expected, a quick search; each patient shown logged), the privacy officer's open items, the
analyst's key figures (suppressed as the dashboards are), the administrator's accounts. Each
has an empty state for a brand-new clinic, the navigation carries the role's main tasks, and a
database that stops answering gives a plain 503 page, not a 500."""

from __future__ import annotations

import datetime
import socket

import pytest
from django.db import ProgrammingError, connections
from django.test import Client
from django.utils import timezone

from clinic import access_log
from scheduling.models import Appointment
from scheduling.slots import day_bounds
from tests.analytics_helpers import refresh
from tests.conftest import give_totp
from tests.factories import (
    FAKE_VISIT_REASON,
    AppointmentFactory,
    BreakGlassGrantFactory,
    ClinicalRecordFactory,
    PatientFactory,
    this_month,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
ROLES = ["frontdesk", "clinician", "analyst", "privacy", "admin"]


@pytest.fixture
def today(staff):
    """Today on the clinic's clocks, whatever the hour: one patient waiting (arrived twenty
    minutes ago, or at midnight), one expected in a few minutes, one cancelled."""
    now = timezone.now()
    start, end = day_bounds(timezone.localdate(now))
    waiting_at = max(now - datetime.timedelta(minutes=20), start)
    expected_at = min(now + datetime.timedelta(minutes=5), end - datetime.timedelta(minutes=1))
    half_hour = datetime.timedelta(minutes=30)
    return {
        "waiting": AppointmentFactory(
            clinician=staff["clinician"],
            patient=PatientFactory(first_name="Fakewaiting"),
            starts_at=waiting_at,
            ends_at=waiting_at + half_hour,
            status=Appointment.ARRIVED,
            arrived_at=waiting_at,
        ),
        "expected": AppointmentFactory(
            clinician=staff["clinician2"],
            patient=PatientFactory(first_name="Fakeexpected"),
            starts_at=expected_at,
            ends_at=expected_at + half_hour,
        ),
        "cancelled": AppointmentFactory(
            clinician=staff["clinician2"],
            patient=PatientFactory(first_name="Fakecancelled"),
            starts_at=expected_at,
            ends_at=expected_at + half_hour,
            status=Appointment.CANCELLED,
            cancelled_at=now,
            cancel_reason="patient_request",
        ),
    }


def test_front_desk_sees_today_and_each_patient_shown_is_logged(client_for, staff, today):
    response = client_for(staff["frontdesk"]).get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fakewaiting" in body and "Fakeexpected" in body
    assert "Fakecancelled" not in body
    assert FAKE_VISIT_REASON not in body  # the front desk holds no right on the reason
    # Checking in from the home page posts the step, as on the day list.
    assert f"/scheduling/appointments/{today['expected'].pk}/step/" in body
    assert f"/scheduling/appointments/{today['waiting'].pk}/step/" not in body
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert sorted(str(e.patient_id) for e in listed) == sorted(
        str(today[name].patient_id) for name in ("waiting", "expected")
    )
    assert {e.staff_id for e in listed} == {staff["frontdesk"].pk}
    # The quick search posts (nothing typed ever lands in a URL).
    assert 'method="post" action="/patients/search/"' in body.replace("\n", " ")


def test_front_desk_figures_count_the_day(client_for, staff, today):
    body = client_for(staff["frontdesk"]).get("/").content.decode()
    figures = body[body.index('class="figures"') : body.index("</ul>", body.index("figures"))]
    assert '<span class="figure">2</span> Booked today' in figures
    assert '<span class="figure">1</span> Still expected' in figures
    assert '<span class="figure">1</span> In the clinic' in figures


def test_the_review_count_is_of_every_grant_awaiting_not_only_those_shown(client_for, staff):
    """The home page lists the oldest five grants awaiting review and counts them all (the
    count rides on the listed rows: privacy/open_items.py)."""
    from privacy.open_items import REVIEWS_SHOWN

    awaiting = REVIEWS_SHOWN + 2
    # Oldest first: each starts when it is made.
    grants = [BreakGlassGrantFactory(staff=staff["clinician"]) for _ in range(awaiting)]
    BreakGlassGrantFactory(
        staff=staff["clinician2"], reviewed_at=timezone.now(), reviewed_by=staff["privacy"]
    )
    body = client_for(staff["privacy"]).get("/").content.decode()
    assert f'<span class="figure">{awaiting}</span> emergency accesses to review' in body
    assert f"All {awaiting} awaiting review" in body
    listed = [grant for grant in grants if f"/privacy/break-glass/{grant.pk}/" in body]
    assert listed == grants[:REVIEWS_SHOWN]


def test_privacy_officer_sees_reviews_due_and_lockouts(client_for, staff):
    due = BreakGlassGrantFactory(staff=staff["clinician"], hours=-1)
    done = BreakGlassGrantFactory(
        staff=staff["clinician2"],
        hours=-2,
        reviewed_at=timezone.now(),
        reviewed_by=staff["privacy"],
    )
    stranger = Client()
    for _ in range(6):
        stranger.post(
            "/account/sign-in/",
            {"username": "t-analyst", "password": "wrong-pass-1"},
            REMOTE_ADDR="10.0.0.9",
        )
    body = client_for(staff["privacy"]).get("/").content.decode()
    assert f"/privacy/break-glass/{due.pk}/" in body
    assert f"/privacy/break-glass/{done.pk}/" not in body
    assert '<span class="figure">1</span> emergency access to review' in body
    lockouts = body[body.index('id="lockouts-heading"') :]
    assert "t-analyst" in lockouts
    # Nothing here names a patient: no patient id, so nothing to log per patient.
    assert str(due.patient_id) not in body


def test_analyst_sees_key_figures_suppressed_like_the_dashboards(client_for, staff):
    ClinicalRecordFactory.create_batch(
        30, provider=staff["clinician"], visit_date=this_month(), patient=PatientFactory()
    )
    refresh()
    body = client_for(staff["analyst"]).get("/").content.decode()
    assert '<span class="figure" id="visit-total">30</span>' in body
    # One registered patient: a count under 11, hidden on the home page as on the dashboards.
    assert '<span class="figure" id="patient-total">&lt;11</span>' in body
    assert 'id="chart-months"' in body
    assert "Fakefirst" not in body and "Testpatient" not in body


def test_administrator_sees_accounts_needing_attention(client_for, staff):
    body = client_for(staff["admin"]).get("/").content.decode()
    attention = body[body.index('id="attention-heading"') : body.index('id="recent-heading"')]
    assert "t-outsider" in attention and "no role" in attention
    # The privacy officer must use two-step sign-in and has no device yet.
    assert "t-privacy" in attention and "two-step sign-in required" in attention
    assert "t-clinician" not in attention.replace("t-clinician2", "")
    assert '<span class="figure">2</span> Clinician' in body
    give_totp(staff["privacy"])
    again = client_for(staff["admin"]).get("/").content.decode()
    assert "t-privacy</a>: two-step" not in again


EMPTY_STATES = {
    "frontdesk": ["Nobody is waiting.", "No more appointments booked for today."],
    "analyst": ['id="visit-total">0</span>', "No visits in this period."],
    "privacy": ["Nothing to review.", "No flags.", "No account or address is locked out."],
    "admin": ["Newest accounts"],
}


@pytest.mark.parametrize("persona", sorted(EMPTY_STATES))
def test_a_new_clinic_gets_each_home_page_empty_not_broken(client_for, staff, persona):
    refresh()  # the rollups of an earlier test's visits would outlive its truncation
    response = client_for(staff[persona]).get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for text in EMPTY_STATES[persona]:
        assert text in body
    assert events(access_log.APPOINTMENTS_LISTED) == []


NAVIGATION = {
    "frontdesk": (
        ["/scheduling/day/", "/patients/search/", "/patients/new/"],
        ["/analytics/"],
    ),
    "analyst": (["/analytics/"], ["/patients/search/", "/privacy/"]),
    "privacy": (["/privacy/", "/privacy/break-glass/", "/privacy/lockouts/"], ["/analytics/"]),
    "admin": (["/admin/", "/admin/auth/user/"], ["/patients/search/", "/privacy/"]),
}


@pytest.mark.parametrize("persona", sorted(NAVIGATION))
def test_the_top_navigation_carries_the_roles_main_tasks(client_for, staff, persona):
    body = client_for(staff[persona]).get("/").content.decode()
    nav = body[body.index('<nav class="mainnav"') : body.index("</nav>")]
    shown, hidden = NAVIGATION[persona]
    for href in shown:
        assert f'href="{href}"' in nav
    for href in hidden:
        assert f'href="{href}"' not in nav


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("persona", ROLES)
def test_each_home_page_answers_503_while_the_database_is_unreachable(client_for, staff, persona):
    client = client_for(staff[persona])
    client.raise_request_exception = False
    web = connections["default"]
    saved = web.settings_dict["PORT"], web.settings_dict["HOST"]
    web.close()
    web.settings_dict["HOST"], web.settings_dict["PORT"] = "127.0.0.1", str(_dead_port())
    try:
        response = client.get("/")
    finally:
        web.close()
        web.settings_dict["PORT"], web.settings_dict["HOST"] = saved
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Temporarily unavailable" in body
    assert "Traceback" not in body and "connection" not in body.lower()
    assert staff[persona].username not in body
    # Once the database answers again, so does the page.
    assert client.get("/").status_code == 200


def refuse_home(request):
    raise ProgrammingError("permission denied for table patient_identities")


def test_a_refused_statement_is_still_a_500_not_a_503(client_for, staff, monkeypatch):
    from clinic import views

    monkeypatch.setitem(views.HOME_CONTEXTS, "Front desk", f"{__name__}.refuse_home")
    client = client_for(staff["frontdesk"])
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
