"""Reporting queries of the dashboards: suppressed tables only, on the analytics connection.

Every query runs on `analytics_alias()`: the request's own connection, or a read replica when
one is configured (settings.ANALYTICS_DATABASE). Either way it runs as `clinic_analyst`
(clinic/db_context.py), which may call the two functions that return the dashboards' tables
already suppressed and read the analytics views, and nothing else; on the
replica `analyst_reads(request)` opens a transaction there and switches it to the same role
and staff id. Every query here is parameterised, and none writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest

from analytics.appointment_panels import PANELS_NAME as APPOINTMENT_PANELS_NAME
from analytics.db_grants import PROVIDERS_VIEW
from analytics.db_suppression import PATIENT_PANELS_NAME, VISIT_PANELS_NAME
from analytics.models import RefreshLog
from analytics.suppression import SuppressedCounts, tables_from_rows
from clinic.db_context import WEB_ALIAS, apply_context
from clinic.staff import database_role_for


def analytics_alias() -> str:
    """The database alias every analytics read uses: "replica" when configured, else the
    request's own connection ("default")."""
    return settings.ANALYTICS_DATABASE


def _connection() -> BaseDatabaseWrapper:
    return connections[analytics_alias()]


@contextmanager
def analyst_reads(request: HttpRequest) -> Iterator[None]:
    """Run the enclosed analytics reads under the signed-in user's role and staff id.

    On the request's own connection DatabaseRoleMiddleware has done that already. A replica is
    another connection: its own transaction (read-only, as every transaction on a standby is),
    switched by the same single statement, and checked to arrive clean in the same way.
    """
    alias = analytics_alias()
    if alias == WEB_ALIAS:
        yield
        return
    with transaction.atomic(using=alias):
        # Read-only even if the alias were pointed at a primary by mistake.
        with connections[alias].cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
        apply_context(database_role_for(request.user), request.user.pk, alias=alias)
        yield


@dataclass(frozen=True)
class VisitFilters:
    start: datetime.date  # first day of the first month
    end: datetime.date  # first day of the last month
    chapter: str = ""
    provider_id: int | None = None


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months = []
    current = start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + datetime.timedelta(days=32)).replace(day=1)
    return months


def visit_tables(filters: VisitFilters) -> dict[str, SuppressedCounts]:
    """Months, chapters, top codes (plus "other") and providers, suppressed by the database in
    one call (analytics/db_suppression.py), which scans the visits rollup once."""
    with _connection().cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {VISIT_PANELS_NAME}(%s, %s, %s, %s)",  # noqa: S608
            [filters.start, filters.end, filters.chapter, filters.provider_id],
        )
        return tables_from_rows(cursor.fetchall())


def patient_tables() -> dict[str, SuppressedCounts]:
    """Registered patients by age band and by state, suppressed by the database."""
    with _connection().cursor() as cursor:
        cursor.execute(f"SELECT * FROM {PATIENT_PANELS_NAME}()")  # noqa: S608
        return tables_from_rows(cursor.fetchall())


def provider_names() -> dict[int, str]:
    with _connection().cursor() as cursor:
        cursor.execute(f"SELECT provider_id, display_name FROM {PROVIDERS_VIEW}")  # noqa: S608
        return dict(cursor.fetchall())


def data_as_of() -> datetime.datetime | None:
    latest = (
        RefreshLog.objects.using(analytics_alias())
        .order_by("-refreshed_at")
        .values_list("refreshed_at")
        .first()
    )
    return latest[0] if latest else None


@dataclass(frozen=True)
class ReplicaState:
    last_replayed: datetime.datetime | None  # commit time of the last transaction replayed
    lag: datetime.timedelta  # zero when everything received has been replayed


def replica_state() -> ReplicaState | None:
    """How far the analytics database trails the primary; None when it is the primary."""
    if analytics_alias() == WEB_ALIAS:
        return None
    with _connection().cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), "
            "pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(), "
            "now() - pg_last_xact_replay_timestamp()"
        )
        in_recovery, replayed_at, caught_up, behind = cursor.fetchone()
    if not in_recovery:
        return None
    # An idle primary writes nothing: a standby that has replayed all it received is current,
    # however old its last replayed commit.
    zero = datetime.timedelta(0)
    lag = zero if caught_up or behind is None else max(behind, zero)
    return ReplicaState(replayed_at, lag)


def appointment_tables(start: datetime.date, end: datetime.date) -> dict[str, SuppressedCounts]:
    """No-shows, utilisation and lead time by month, clinician and type, suppressed by the
    database (analytics/appointment_rollups.py)."""
    with _connection().cursor() as cursor:
        cursor.execute(f"SELECT * FROM {APPOINTMENT_PANELS_NAME}(%s, %s)", [start, end])  # noqa: S608
        return tables_from_rows(cursor.fetchall())
