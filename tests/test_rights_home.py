"""The privacy officer's home page lists the patients' open requests on their clocks (issue #21
item 3, 164.524/164.526 deadlines): soonest due first so overdue ones lead, days left counted on
the clinic's calendar (TIME_ZONE, never the UTC date), extensions noted, each patient shown
logged; a brand-new clinic gets an empty state."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import timezone

from clinic import access_log
from rights.clock import days_left
from tests.factories import AccessRequestFactory, PatientFactory
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")
# At any instant one of these has a calendar date other than UTC's (Etc/GMT signs inverted).
FAR_ZONES = ("Etc/GMT-14", "Etc/GMT+12")


def clock_section(body: str) -> str:
    start = body.index('id="clock-heading"')
    return body[start : body.index("</section>", start)]


def detail_url(r) -> str:
    return f"/privacy/rights/patients/{r.patient_id}/requests/{r.pk}/"


def row_of(section: str, r) -> str:
    at = section.index(detail_url(r))
    return section[section.rindex("<tr", 0, at) : section.index("</tr>", at)]


def test_days_left_is_zero_on_the_due_date_and_negative_after():
    due = dt.date(2026, 3, 31)
    assert days_left(due, dt.date(2026, 3, 1)) == 30
    assert days_left(due, due) == 0
    assert days_left(due, dt.date(2026, 4, 1)) == -1


def test_empty_state(client_for, staff):
    body = client_for(staff["privacy"]).get("/").content.decode()
    section = clock_section(body)
    assert "No patient request is open." in section
    assert '<span class="figure">0</span> patient requests open' in body
    assert events(access_log.ACCESS_REQUESTS_LISTED) == []


def test_open_requests_overdue_first_with_days_left_and_extension(client_for, staff):
    today = timezone.localdate()
    later = AccessRequestFactory(received_on=today - dt.timedelta(days=2))
    overdue = AccessRequestFactory(
        received_on=today - dt.timedelta(days=33),
        patient=PatientFactory(first_name="Fakeoverdue", last_name="Testpatient"),
    )
    extended = AccessRequestFactory(
        received_on=today - dt.timedelta(days=40),
        due_on=today - dt.timedelta(days=40) + dt.timedelta(days=60),
        extended_on=today - dt.timedelta(days=20),
        extended_by=staff["privacy"],
        extension_reason="Fake reason: records held off site",
    )
    closed = AccessRequestFactory(
        received_on=today - dt.timedelta(days=50),
        outcome="denied",
        denial_ground="litigation",
        closed_on=today - dt.timedelta(days=45),
        closed_by=staff["privacy"],
    )
    body = client_for(staff["privacy"]).get("/").content.decode()
    section = clock_section(body)
    positions = [section.index(detail_url(r)) for r in (overdue, extended, later)]
    assert positions == sorted(positions)
    assert detail_url(closed) not in section
    assert "Overdue by 3 days" in section and "Fakeoverdue Testpatient" in section
    assert "20 days left" in section and "(extended)" in section
    assert "28 days left" in section
    assert section.count('class="overdue"') == 1
    assert "1 overdue" in body and '<span class="figure">3</span> patient requests open' in body
    # Each patient shown is an access-log event of the privacy officer, and only those.
    listed = events(access_log.ACCESS_REQUESTS_LISTED)
    assert {e.patient_id for e in listed} == {r.patient_id for r in (overdue, extended, later)}
    assert {e.staff_id for e in listed} == {staff["privacy"].pk}
    # Requested text (encrypted, may name clinical facts) is not on the home page.
    assert "Fake request" not in body and "Fake reason" not in body


def test_the_clock_at_its_boundary_is_the_clinics_calendar_not_utc(client_for, staff):
    """Due today in the clinic: 'Due today', not overdue, even where the UTC date is already
    the next day (or still the day before); due yesterday in the clinic: overdue by one day."""
    now = timezone.now()
    utc_today = now.astimezone(dt.UTC).date()
    zone = next(z for z in FAR_ZONES if now.astimezone(zoneinfo.ZoneInfo(z)).date() != utc_today)
    clinic_today = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
    due_today = AccessRequestFactory(received_on=clinic_today - dt.timedelta(days=30))
    due_yesterday = AccessRequestFactory(received_on=clinic_today - dt.timedelta(days=31))
    with override_settings(TIME_ZONE=zone):
        body = client_for(staff["privacy"]).get("/").content.decode()
    section = clock_section(body)
    assert "<strong>Due today</strong>" in row_of(section, due_today)
    assert 'class="overdue"' in row_of(section, due_yesterday)
    assert "Overdue by 1 day<" in section
    assert section.count('class="overdue"') == 1
    assert f"today is {clinic_today:%Y-%m-%d}" in section


def test_more_than_shown_links_to_the_full_list(client_for, staff):
    today = timezone.localdate()
    for days in range(12):
        AccessRequestFactory(received_on=today - dt.timedelta(days=days))
    body = client_for(staff["privacy"]).get("/").content.decode()
    section = clock_section(body)
    assert section.count(">Open</a>") == 10
    assert "All 12 open requests" in section
