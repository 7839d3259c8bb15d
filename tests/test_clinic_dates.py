"""Care-team dates are the clinic's (TIME_ZONE), in the policy as in the pages: whatever the
hour, the database's `clinic_today()` is the app's `timezone.localdate()`, and row-level security
counts an assignment by the clinic's calendar even when the UTC date is already another day."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from clinic import roles
from clinic.clinic_time import function_sql
from clinic.staff_identity import NAME_SQL, name_params
from localdb import cluster
from tests.conftest import TEST_DATABASE
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")
# At any instant one of these has a calendar date other than UTC's: UTC+14 from 10:00 UTC,
# UTC-12 before 12:00 UTC (Etc/GMT signs are inverted).
FAR_ZONES = ("Etc/GMT-14", "Etc/GMT+12")


def database_today(conn) -> dt.date:
    return conn.execute("SELECT clinic_today()").fetchone()[0]


def test_the_database_date_is_the_clinics():
    before = timezone.localdate()
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # as Django sets every connection
        today = database_today(conn)
        conn.execute("SET TIME ZONE 'Pacific/Kiritimati'")  # the session's zone plays no part
        assert database_today(conn) == today
    assert today in {before, timezone.localdate()}  # a midnight between the two reads


def test_a_search_path_cannot_redirect_the_inlined_clinic_date():
    """The functions carry no SET search_path (it would stop the planner inlining them): every
    name in them is schema-qualified instead. A `now()` shadowing pg_catalog's, first on the
    search path, changes a bare now() (the control) but not the clinic's date."""
    with cluster.superuser_connect(TEST_DATABASE) as conn, conn.transaction(force_rollback=True):
        conn.execute("SET TIME ZONE 'UTC'")
        today = database_today(conn)
        conn.execute(
            "CREATE SCHEMA t_shadow; CREATE FUNCTION t_shadow.now() RETURNS timestamptz "
            "LANGUAGE sql AS $$ SELECT timestamptz '1999-01-01 12:00+00' $$; "
            "CREATE FUNCTION t_shadow.timezone(text, timestamptz) RETURNS timestamp "
            "LANGUAGE sql AS $$ SELECT timestamp '1999-01-01 12:00' $$"
        )
        conn.execute("SET search_path = t_shadow, pg_catalog, public")
        assert conn.execute("SELECT now()::date").fetchone()[0] == dt.date(1999, 1, 1)  # control
        assert database_today(conn) == today
        starts = conn.execute("SELECT clinic_day_starts(%s)", [today]).fetchone()[0]
        assert starts.date() in {today, today + dt.timedelta(days=1)}


def test_the_policy_counts_care_team_dates_by_the_clinics_calendar_at_any_hour(staff):
    now = timezone.now()
    utc_today = now.astimezone(dt.UTC).date()
    zone = next(z for z in FAR_ZONES if now.astimezone(zoneinfo.ZoneInfo(z)).date() != utc_today)
    clinic_today = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
    clinician = staff["clinician"]
    # Starts today in the clinic (already, or not yet, today in UTC) ...
    starting = PatientFactory()
    CareTeamMemberFactory(staff=clinician, patient=starting, starts_on=clinic_today)
    # ... and ends today in the clinic.
    ending = PatientFactory()
    CareTeamMemberFactory(
        staff=clinician,
        patient=ending,
        starts_on=clinic_today - dt.timedelta(days=30),
        ends_on=clinic_today,
    )
    # Ended yesterday in the clinic: gone, whatever UTC says.
    ended = PatientFactory()
    CareTeamMemberFactory(
        staff=clinician,
        patient=ended,
        starts_on=clinic_today - dt.timedelta(days=30),
        ends_on=clinic_today - dt.timedelta(days=1),
    )
    for patient in (starting, ending, ended):
        ClinicalRecordFactory(patient=patient, provider=clinician)
    with cluster.superuser_connect(TEST_DATABASE) as conn, conn.transaction(force_rollback=True):
        # The clinic in that zone for this transaction only (DDL rolls back with it).
        conn.execute(function_sql(zone))
        conn.execute("SET LOCAL TIME ZONE 'UTC'")
        assert database_today(conn) == clinic_today != utc_today
        conn.execute(f"SET LOCAL ROLE {roles.GROUP_ROLES[roles.CLINICIAN]}")
        conn.execute(NAME_SQL, name_params(clinician.pk, roles.GROUP_ROLES[roles.CLINICIAN]))
        visible = {
            row[0] for row in conn.execute("SELECT patient_id FROM clinical_records").fetchall()
        }
        conn.execute("RESET ROLE")
    assert visible == {starting.pk, ending.pk}
