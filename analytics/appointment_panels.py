"""The analyst's appointment tables: `analytics_appointment_panels(first month, last month)`,
owned by the rollups' owner, callable by the analyst's role only, returning nothing unless the
request's verified role is the analyst's; every table suppressed by `analytics_suppressed_cells`
(analytics/db_suppression.py) before it leaves the database. The rollups it reads:
analytics/appointment_rollups.py."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from analytics.appointment_rollups import APPOINTMENTS_ROLLUP, AVAILABILITY_ROLLUP, LEAD_BANDS
from analytics.db_grants import ANALYST, OWNER, PANEL_COLUMNS, PANEL_DEFINER, PANEL_GATE
from clinic.provisioning import ensure_function, register_step

PANELS_NAME = "analytics_appointment_panels"
PANELS = f"{PANELS_NAME}(date,date)"


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
LANGUAGE plpgsql {PANEL_DEFINER} AS $fn$
#variable_conflict use_column
BEGIN
    {PANEL_GATE}
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
            return ensure_function(connection, PANELS, PANELS_FUNCTION, [ANALYST])
        finally:
            cursor.execute("RESET ROLE")
