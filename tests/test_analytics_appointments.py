"""The analyst's appointment tables (analytics/appointment_rollups.py): appointments, no-shows,
utilisation and lead time by month, clinician and type, suppressed in SQL like every dashboard
table. Tried with raw SQL as `clinic_analyst`: no count from 1 to 10 comes out, a hidden count
hides its utilisation too, the rollups themselves are out of reach, and another group's request
switched to the analyst's role reads nothing. Last month: one clinician with 25 appointments
(12 no-shows), another with 4."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError

from analytics.forms import default_range
from tests.analytics_helpers import refresh
from tests.db_helpers import in_request
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
    this_month,
)

pytestmark = pytest.mark.usefixtures("clinic_db")
PANELS = "SELECT panel, place, key, shown, status FROM analytics_appointment_panels(%s, %s)"


def last_month() -> datetime.date:
    return (this_month() - datetime.timedelta(days=1)).replace(day=1)


@pytest.fixture
def appointments(staff):
    WorkingHoursFactory(clinician=staff["clinician"])  # Mondays 09:00-12:00
    patient = PatientFactory()
    first = clinic_moment(last_month(), 0)
    for n in range(29):
        busy = staff["clinician"] if n < 25 else staff["clinician2"]
        AppointmentFactory(
            patient=patient,
            clinician=busy,
            starts_at=first + datetime.timedelta(hours=n),
            status="no_show" if n < 12 else "done",
        )
    refresh()
    return staff


def panels(staff) -> dict[str, dict[str, tuple]]:
    start, end = default_range()
    rows = in_request(staff["analyst"], PANELS, [start, end])
    tables: dict[str, dict[str, tuple]] = {}
    for panel, place, key, shown, status in rows:
        tables.setdefault(panel, {})["total" if place == 0 else key] = (shown, status)
    return tables


def mondays(start: datetime.date, end: datetime.date) -> int:
    return sum(
        1
        for n in range((end - start).days + 1)
        if (start + datetime.timedelta(days=n)).weekday() == 0
    )


def test_the_analyst_sql_reads_no_small_count(appointments):
    tables = panels(appointments)
    for panel, cells in tables.items():
        for key, (shown, status) in cells.items():
            assert shown is None or shown == 0 or shown > 10 or panel.startswith("util"), (
                panel,
                key,
            )
            if status:
                assert shown is None, (panel, key)
            elif not panel.startswith("util"):  # utilisation: none without working time
                assert shown is not None, (panel, key)


def test_the_figures_are_right_where_shown(appointments):
    staff = appointments
    tables = panels(staff)
    month = last_month().isoformat()
    assert tables["appointments_months"][month] == (29, "")
    assert tables["no_shows_months"][month] == (12, "")
    # The other clinician's 4 are hidden, and the 25 beside them too (the total is 29).
    clinicians = tables["appointments_clinicians"]
    assert clinicians[str(staff["clinician2"].pk)] == (None, "primary")
    assert clinicians[str(staff["clinician"].pk)][0] is None
    assert clinicians["total"] == (29, "")
    # Utilisation is hidden wherever the appointment count is.
    assert tables["utilisation_clinicians"][str(staff["clinician2"].pk)] == (None, "primary")
    available = 180 * mondays(last_month(), this_month() - datetime.timedelta(days=1))
    assert tables["utilisation_months"][month] == (round(100 * 29 * 30 / available), "")
    assert tables["appointments_types"]["Follow-up"] == (29, "")
    # Booked (by the factory) after they started: all of them on the same day or later.
    assert tables["lead_time"]["lead_same_day"] == (29, "")
    assert tables["lead_time"]["lead_8_28"] == (0, "")


def test_the_analyst_cannot_read_the_rollups(appointments):
    for rollup in ("analytics_appointments_rollup", "analytics_availability_rollup"):
        with pytest.raises(DatabaseError, match="permission denied"):
            in_request(appointments["analyst"], f"SELECT * FROM {rollup}")  # noqa: S608
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(appointments["analyst"], "SELECT count(*) FROM appointments")


def test_other_roles_cannot_call_the_tables_and_a_switched_request_reads_nothing(appointments):
    start, end = default_range()
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(appointments["frontdesk"], PANELS, [start, end])
    switched = in_request(
        appointments["frontdesk"], PANELS, [start, end], switch_to="clinic_analyst"
    )
    assert switched == []


def test_the_dashboard_shows_the_appointment_tables(client_for, appointments):
    response = client_for(appointments["analyst"]).get("/analytics/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Appointments per month" in body and "Lead time" in body
    assert "41.4 %" in body  # 12 no-shows of 29
