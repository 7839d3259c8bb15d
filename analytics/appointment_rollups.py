"""Appointment rollups for the analyst (issue 17): no-show rate, utilisation and lead time by
month, clinician and appointment type, suppressed in SQL like every dashboard table.

Two materialized views owned by `clinic_analytics_owner` (read under its own policy on
appointments, scheduling/db_grants.py), refreshed with the others (analytics/refresh.py):

- `analytics_appointments_rollup`: per month (clinic time) x clinician x type, of the
  appointments already started when refreshed: `kept` (not cancelled), `no_shows`,
  `booked_minutes` (kept), and lead time (booking to the appointment, clinic days) in four
  bands: the same day, 1-7, 8-28, 29 and more days;
- `analytics_availability_rollup`: per month x clinician, the minutes of working time on
  the days up to today (weekly sessions on the clinic's clocks and extra sessions, less time
  off). The weekly hours are today's: the schedule keeps no history, so a changed week
  changes past months' availability too (docs/analytics.md).

The analyst reads neither: `analytics_appointment_panels(first month, last month)` returns the
tables, each through `analytics_suppressed_cells` (the rule of analytics/db_suppression.py:
no count from 1 to 10, complementary cells, withheld tables). Utilisation (booked minutes over
available, in per cent) is given only beside an appointment count that is shown; a hidden
count hides its utilisation with the same status. The no-show rate is a ratio the page makes
of two shown counts, never of a hidden one.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from analytics.db_grants import (
    ANALYST,
    MATERIALIZED_VIEWS,
    OWNER,
    ROLLUP_INDEXES,
)
from analytics.db_suppression import _DEFINER, _GATE, PANEL_COLUMNS
from clinic.provisioning import add_role_grants, ensure_functions, register_step, register_view
from clinic.roles import grant

APPOINTMENTS_ROLLUP = "analytics_appointments_rollup"
AVAILABILITY_ROLLUP = "analytics_availability_rollup"
PANELS_NAME = "analytics_appointment_panels"
PANELS = f"{PANELS_NAME}(date,date)"
LEAD_BANDS = [
    ("lead_same_day", "Same day"),
    ("lead_1_7", "1-7 days"),
    ("lead_8_28", "8-28 days"),
    ("lead_29_plus", "29 days or more"),
]


def _zone() -> str:
    zone = settings.TIME_ZONE
    zoneinfo.ZoneInfo(zone)  # a real zone name (letters, digits, / _ - +): safe in a literal
    return zone


Z = f"'{_zone()}'"
_LEAD_DAYS = f"((a.starts_at AT TIME ZONE {Z})::date - (a.created_at AT TIME ZONE {Z})::date)"
_KEPT = "a.status <> 'cancelled'"

APPOINTMENTS_ROLLUP_SQL = f"""
SELECT date_trunc('month', a.starts_at AT TIME ZONE {Z})::date AS month,
       a.clinician_id,
       t.name AS appointment_type,
       count(*) FILTER (WHERE {_KEPT})::bigint AS kept,
       count(*) FILTER (WHERE a.status = 'no_show')::bigint AS no_shows,
       coalesce(sum(extract(epoch FROM a.ends_at - a.starts_at) / 60)
                FILTER (WHERE {_KEPT}), 0)::bigint AS booked_minutes,
       count(*) FILTER (WHERE {_KEPT} AND {_LEAD_DAYS} <= 0)::bigint AS lead_same_day,
       count(*) FILTER (WHERE {_KEPT} AND {_LEAD_DAYS} BETWEEN 1 AND 7)::bigint AS lead_1_7,
       count(*) FILTER (WHERE {_KEPT} AND {_LEAD_DAYS} BETWEEN 8 AND 28)::bigint AS lead_8_28,
       count(*) FILTER (WHERE {_KEPT} AND {_LEAD_DAYS} > 28)::bigint AS lead_29_plus
FROM appointments a
JOIN appointment_types t ON t.id = a.appointment_type_id
WHERE a.starts_at < now()
GROUP BY 1, 2, 3
"""  # noqa: S608 (constants only)

AVAILABILITY_ROLLUP_SQL = f"""
WITH bounds AS (
    SELECT date_trunc('month', min(starts_at AT TIME ZONE {Z}))::date AS first_day,
           (now() AT TIME ZONE {Z})::date AS last_day
    FROM appointments
), days AS (
    SELECT d::date AS day FROM bounds b,
           generate_series(b.first_day, b.last_day, interval '1 day') d
), sessions AS (
    SELECT w.clinician_id,
           tstzrange((d.day + w.starts_at) AT TIME ZONE {Z}, (d.day + w.ends_at) AT TIME ZONE {Z})
               AS r
    FROM days d JOIN working_hours w ON w.weekday = extract(isodow FROM d.day)::integer - 1
    UNION ALL
    SELECT e.clinician_id, tstzrange(e.starts_at, e.ends_at)
    FROM schedule_exceptions e, bounds b
    WHERE e.kind = 'extra_session' AND e.starts_at >= b.first_day::timestamp AT TIME ZONE {Z}
      AND e.starts_at < now()
)
SELECT date_trunc('month', lower(s.r) AT TIME ZONE {Z})::date AS month,
       s.clinician_id,
       greatest(sum(extract(epoch FROM upper(s.r) - lower(s.r)) / 60 - coalesce((
           SELECT sum(extract(epoch FROM upper(s.r * tstzrange(o.starts_at, o.ends_at))
                                        - lower(s.r * tstzrange(o.starts_at, o.ends_at))) / 60)
           FROM schedule_exceptions o
           WHERE o.clinician_id = s.clinician_id AND o.kind = 'time_off'
             AND tstzrange(o.starts_at, o.ends_at) && s.r), 0)), 0)::bigint AS available_minutes
FROM sessions s
GROUP BY 1, 2
"""  # noqa: S608 (constants only)

ROLLUP_INDEXES[APPOINTMENTS_ROLLUP] = [
    ("analytics_appointments_rollup_key", "month, clinician_id, appointment_type", True)
]
ROLLUP_INDEXES[AVAILABILITY_ROLLUP] = [
    ("analytics_availability_rollup_key", "month, clinician_id", True)
]
MATERIALIZED_VIEWS.extend([APPOINTMENTS_ROLLUP, AVAILABILITY_ROLLUP])

add_role_grants(
    OWNER,
    [
        grant(
            "SELECT",
            "appointments",
            "appointment_type_id",
            "clinician_id",
            "starts_at",
            "ends_at",
            "status",
            "created_at",
        ),
        grant("SELECT", "appointment_types", "id", "name"),
        grant("SELECT", "working_hours", "clinician_id", "weekday", "starts_at", "ends_at"),
        grant("SELECT", "schedule_exceptions", "clinician_id", "kind", "starts_at", "ends_at"),
    ],
)
register_view(APPOINTMENTS_ROLLUP, APPOINTMENTS_ROLLUP_SQL, OWNER, materialized=True)
register_view(AVAILABILITY_ROLLUP, AVAILABILITY_ROLLUP_SQL, OWNER, materialized=True)


def _cells(panel: str, source: str, key: str, count: str, order: str) -> str:
    return (
        f"SELECT * FROM analytics_suppressed_cells('{panel}',"  # noqa: S608 (constants only)
        f" (SELECT array_agg({key} ORDER BY {order}) FROM {source}),"
        f" (SELECT array_agg({count} ORDER BY {order}) FROM {source}))"
    )


def _utilisation(panel: str, counts_panel: str, source: str, key: str) -> str:
    """Per cent of available minutes booked, per key of `counts_panel`, with that count's
    status: shown only where the appointment count is shown (and the total likewise)."""
    return f"""
    SELECT '{panel}'::text, c.place, c.key,
           CASE WHEN c.status = '' THEN round(100.0 * u.booked / nullif(u.available, 0))::bigint
           END,
           c.status
    FROM cells c
    LEFT JOIN (SELECT {key} AS key, sum(booked) AS booked, sum(available) AS available
               FROM {source} GROUP BY 1
               UNION ALL
               SELECT NULL, sum(booked), sum(available) FROM {source}) u
           ON u.key IS NOT DISTINCT FROM c.key
    WHERE c.panel = '{counts_panel}'"""  # noqa: S608 (constants only)


_BY_MONTH = _utilisation("utilisation_months", "appointments_months", "by_month", "key")
_BY_CLINICIAN = _utilisation(
    "utilisation_clinicians", "appointments_clinicians", "by_clinician", "key"
)
_LEADS = ", ".join(f"sum(a.{column})" for column, _ in LEAD_BANDS)
_LEAD_KEYS = ", ".join(f"'{column}'" for column, _ in LEAD_BANDS)

PANELS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_appointment_panels(p_first_month date, p_last_month date)
RETURNS TABLE ({PANEL_COLUMNS})
LANGUAGE plpgsql {_DEFINER} AS $fn$
#variable_conflict use_column
BEGIN
    {_GATE}
    RETURN QUERY
    WITH a AS (
        SELECT * FROM {APPOINTMENTS_ROLLUP} WHERE month BETWEEN p_first_month AND p_last_month
    ), v AS (
        SELECT * FROM {AVAILABILITY_ROLLUP} WHERE month BETWEEN p_first_month AND p_last_month
    ), months AS (
        SELECT m::date AS month FROM generate_series(
            date_trunc('month', p_first_month::timestamp), p_last_month::timestamp,
            interval '1 month') m
    ), by_month AS (
        SELECT to_char(m.month, 'YYYY-MM-DD') AS key,
               coalesce((SELECT sum(kept) FROM a WHERE a.month = m.month), 0)::bigint AS kept,
               coalesce((SELECT sum(no_shows) FROM a WHERE a.month = m.month), 0)::bigint AS ns,
               coalesce((SELECT sum(booked_minutes) FROM a WHERE a.month = m.month), 0) AS booked,
               coalesce((SELECT sum(available_minutes) FROM v WHERE v.month = m.month), 0)
                   AS available
        FROM months m
    ), by_clinician AS (
        SELECT k.clinician_id::text AS key,
               coalesce(sum(a.kept), 0)::bigint AS kept,
               coalesce(sum(a.no_shows), 0)::bigint AS ns,
               coalesce(sum(a.booked_minutes), 0) AS booked,
               (SELECT sum(available_minutes) FROM v WHERE v.clinician_id = k.clinician_id)
                   AS available
        FROM (SELECT clinician_id FROM a UNION SELECT clinician_id FROM v) k
        LEFT JOIN a ON a.clinician_id = k.clinician_id
        GROUP BY k.clinician_id
    ), by_type AS (
        SELECT appointment_type COLLATE "C" AS key, sum(kept)::bigint AS kept,
               sum(no_shows)::bigint AS ns
        FROM a GROUP BY 1
    ), lead AS (
        SELECT unnest(ARRAY[{_LEAD_KEYS}]) AS key,
               unnest(ARRAY[{_LEADS}])::bigint AS n,
               generate_series(1, {len(LEAD_BANDS)}) AS place
        FROM a
    ), cells AS (
        {_cells("appointments_months", "by_month", "key", "kept", "key")}
        UNION ALL
        {_cells("no_shows_months", "by_month", "key", "ns", "key")}
        UNION ALL
        {_cells("appointments_clinicians", "by_clinician", "key", "kept", "key::integer")}
        UNION ALL
        {_cells("no_shows_clinicians", "by_clinician", "key", "ns", "key::integer")}
        UNION ALL
        {_cells("appointments_types", "by_type", "key", "kept", "key")}
        UNION ALL
        {_cells("no_shows_types", "by_type", "key", "ns", "key")}
        UNION ALL
        {_cells("lead_time", "lead", "key", "coalesce(n, 0)", "place")}
    )
    SELECT * FROM cells
    UNION ALL{_BY_MONTH}
    UNION ALL{_BY_CLINICIAN};
END
$fn$"""  # noqa: S608 (constants only)


@register_step(order=61, after_views=True)
def appointment_panels_function(connection: BaseDatabaseWrapper) -> list[str]:
    """The analyst's appointment tables, owned by the rollups' owner (after the suppression
    helpers of analytics/db_suppression.py, order 60)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {OWNER}")
        try:
            return ensure_functions(
                connection,
                PANELS,
                [
                    PANELS_FUNCTION,
                    f"REVOKE ALL ON FUNCTION {PANELS} FROM PUBLIC",
                    f"GRANT EXECUTE ON FUNCTION {PANELS} TO {ANALYST}",
                ],
            )
        finally:
            cursor.execute("RESET ROLE")
