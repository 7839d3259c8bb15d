"""The clinic's date in the database: `clinic_today()` is today in the clinic's time zone
(settings.TIME_ZONE), never the server's or the session's (Django sets every connection to UTC,
so `current_date` in a policy is the UTC date: from 19:00 in New York it is already tomorrow).

Policies ask `(SELECT clinic_today())`, a sub-select the planner evaluates once per query. The
zone is written into the function by provisioning; changing TIME_ZONE and re-running
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


def function_sql(zone: str) -> sql.Composed:
    zoneinfo.ZoneInfo(zone)  # a real zone, or ZoneInfoNotFoundError
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION clinic_today() RETURNS date "
        "LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog AS "
        "$fn$ SELECT (now() AT TIME ZONE {zone})::date $fn$"
    ).format(zone=sql.Literal(zone))


@register_step(order=1)
def clinic_today_function(connection: BaseDatabaseWrapper) -> list[str]:
    """Before every step whose policies use it."""
    with connection.cursor() as cursor:
        text = function_sql(settings.TIME_ZONE).as_string(cursor.connection)
    return ensure_functions(connection, "clinic_today()", [text])
