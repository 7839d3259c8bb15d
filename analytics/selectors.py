"""Reporting queries of the dashboards: rollups only, on the analytics connection.

Every query runs on `analytics_alias()`: the request's own connection, or a read replica when
one is configured (settings.ANALYTICS_DATABASE). Either way it runs as `clinic_analyst`
(clinic/db_context.py), which may read the analytics rollups and views and nothing else; on the
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

from analytics.db_grants import (
    AGE_BAND_ORDER,
    CODES_ROLLUP,
    PATIENTS_ROLLUP,
    PROVIDER_CODES_ROLLUP,
    PROVIDERS_VIEW,
    VISITS_ROLLUP,
)
from analytics.models import RefreshLog
from clinic.db_context import WEB_ALIAS, apply_context
from clinic.staff import database_role_for

TOP_CODES = 10


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

    def where(self) -> tuple[str, list]:
        clauses = ["month BETWEEN %s AND %s"]
        params: list = [self.start, self.end]
        if self.chapter:
            clauses.append("chapter = %s")
            params.append(self.chapter)
        if self.provider_id is not None:
            clauses.append("provider_id = %s")
            params.append(self.provider_id)
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class VisitCounts:
    by_month: dict[datetime.date, int]
    by_chapter: dict[str, int]
    by_provider: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.by_month.values())


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months = []
    current = start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + datetime.timedelta(days=32)).replace(day=1)
    return months


def visit_counts(filters: VisitFilters) -> VisitCounts:
    """Visits per month, per chapter and per provider in one scan of the rollup."""
    where, params = filters.where()
    query = (
        f"SELECT month, chapter, provider_id, sum(visits)::bigint, "  # noqa: S608
        f"GROUPING(month), GROUPING(chapter) FROM {VISITS_ROLLUP} WHERE {where} "
        "GROUP BY GROUPING SETS ((month), (chapter), (provider_id))"
    )
    by_month = dict.fromkeys(months_between(filters.start, filters.end), 0)
    by_chapter: dict[str, int] = {}
    by_provider: dict[int, int] = {}
    with _connection().cursor() as cursor:
        cursor.execute(query, params)
        for month, chapter, provider_id, visits, month_grouped, chapter_grouped in cursor:
            if not month_grouped:
                by_month[month] = int(visits)
            elif not chapter_grouped:
                by_chapter[chapter] = int(visits)
            else:
                by_provider[provider_id] = int(visits)
    return VisitCounts(by_month, by_chapter, by_provider)


def top_codes(filters: VisitFilters, limit: int = TOP_CODES) -> list[tuple[str, str, int]]:
    """The most frequent codes with at least 11 visits: (code, chapter, visits)."""
    where, params = filters.where()
    table = CODES_ROLLUP if filters.provider_id is None else PROVIDER_CODES_ROLLUP
    query = (
        f"SELECT diagnosis_code, chapter, sum(visits)::bigint AS n FROM {table} "  # noqa: S608
        f"WHERE {where} GROUP BY 1, 2 HAVING sum(visits) > 10 ORDER BY n DESC, 1 LIMIT %s"
    )
    with _connection().cursor() as cursor:
        cursor.execute(query, [*params, limit])
        return [(code, chapter, int(n)) for code, chapter, n in cursor.fetchall()]


def patients_by_age_band() -> dict[str, int]:
    counts = dict.fromkeys(AGE_BAND_ORDER, 0)
    with _connection().cursor() as cursor:
        cursor.execute(
            f"SELECT age_band, sum(patients)::bigint FROM {PATIENTS_ROLLUP} GROUP BY 1"  # noqa: S608
        )
        for band, patients in cursor:
            counts[band] = counts.get(band, 0) + int(patients)
    return counts


def patients_by_state() -> dict[str, int]:
    with _connection().cursor() as cursor:
        cursor.execute(
            f"SELECT state, sum(patients)::bigint FROM {PATIENTS_ROLLUP} "  # noqa: S608
            "GROUP BY 1 ORDER BY 1"
        )
        return {state: int(patients) for state, patients in cursor}


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
