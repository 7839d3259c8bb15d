"""The clinic's date in the database: `clinic_today()` is today in the clinic's time zone
(settings.TIME_ZONE), never the server's or the session's (Django sets every connection to UTC,
so `current_date` in a policy is the UTC date: from 19:00 in New York it is already tomorrow).

Policies ask `(SELECT clinic_today())`, a sub-select the planner evaluates once per query. Both
functions are plain SQL the planner inlines (no SET clause, which would stop it; every name in
them schema-qualified instead, so the caller's search_path cannot redirect them): an inlined
call is no function call for pgaudit to log, which had been a fifth of the audit log's bytes on
the clinical pages (docs/benchmarks.md, issue #20). The zone is written into the function by
provisioning; changing TIME_ZONE and re-running
`provision_db` replaces it (the function carries the fingerprint of its definition).
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic.provisioning import ensure_functions, register_step

# What policies and checks write for "today, in the clinic".
CLINIC_TODAY = "(SELECT clinic_today())"
# The instants today begins and ends on the clinic's clocks (23, 24 or 25 hours apart), so a
# policy compares a timestamptz column with them and an index on it serves the comparison.
CLINIC_TODAY_STARTS = "(SELECT clinic_day_starts(clinic_today()))"
CLINIC_TODAY_ENDS = "(SELECT clinic_day_starts(clinic_today() + 1))"


def function_sql(zone: str) -> sql.Composed:
    zoneinfo.ZoneInfo(zone)  # a real zone, or ZoneInfoNotFoundError
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION clinic_today() RETURNS date "
        "LANGUAGE sql STABLE PARALLEL SAFE AS "
        "$fn$ SELECT CAST(pg_catalog.timezone({zone}, pg_catalog.now()) AS pg_catalog.date) $fn$"
    ).format(zone=sql.Literal(zone))


def day_starts_sql(zone: str) -> sql.Composed:
    """`clinic_day_starts(day)`: the instant `day` begins on the clinic's clocks."""
    zoneinfo.ZoneInfo(zone)
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION clinic_day_starts(p_day date) RETURNS timestamptz "
        "LANGUAGE sql STABLE PARALLEL SAFE AS "
        "$fn$ SELECT pg_catalog.timezone({zone}, CAST(p_day AS pg_catalog.timestamp)) $fn$"
    ).format(zone=sql.Literal(zone))


@register_step(order=1)
def clinic_today_function(connection: BaseDatabaseWrapper) -> list[str]:
    """Before every step whose policies use it."""
    with connection.cursor() as cursor:
        text = function_sql(settings.TIME_ZONE).as_string(cursor.connection)
        starts = day_starts_sql(settings.TIME_ZONE).as_string(cursor.connection)
    return ensure_functions(connection, "clinic_today()", [text]) + ensure_functions(
        connection, "clinic_day_starts(date)", [starts]
    )
