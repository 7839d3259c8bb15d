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

The analyst reads neither: `analytics_appointment_panels(first month, last month)`
(analytics/appointment_panels.py) returns the tables, each through
`analytics_suppressed_cells` (the rule of analytics/db_suppression.py: no count from 1 to 10,
complementary cells, withheld tables). Utilisation (booked minutes over available, in per
cent) is given only beside an appointment count that is shown; a hidden count hides its
utilisation with the same status. The no-show rate is a ratio the page makes of two shown
counts, never of a hidden one.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings

from scheduling.models import WORKING_HOURS_IN_FORCE

APPOINTMENTS_ROLLUP = "analytics_appointments_rollup"
AVAILABILITY_ROLLUP = "analytics_availability_rollup"
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

# Each day counts the hours in force that day (scheduling/models.py, WorkingHours.valid_from).
IN_FORCE = WORKING_HOURS_IN_FORCE.format(day="d.day")
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
        AND {IN_FORCE}
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

# Their unique indexes (REFRESH ... CONCURRENTLY) and the columns their owner reads; declared
# with the other rollups in analytics/db_grants.py.
INDEXES = {
    APPOINTMENTS_ROLLUP: [
        ("analytics_appointments_rollup_key", "month, clinician_id, appointment_type", True)
    ],
    AVAILABILITY_ROLLUP: [("analytics_availability_rollup_key", "month, clinician_id", True)],
}
OWNER_READS = {
    "appointments": (
        "appointment_type_id",
        "clinician_id",
        "starts_at",
        "ends_at",
        "status",
        "created_at",
    ),
    "appointment_types": ("id", "name"),
    "working_hours": (
        "clinician_id",
        "weekday",
        "starts_at",
        "ends_at",
        "valid_from",
        "valid_until",
    ),
    "schedule_exceptions": ("clinician_id", "kind", "starts_at", "ends_at"),
}
