"""Reporting queries of the dashboards: rollups only, on the request's connection.

The request runs as `clinic_analyst` (clinic/db_context.py), which may read the analytics
rollups and views and nothing else; every query here is parameterised.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection

from analytics.db_grants import (
    AGE_BAND_ORDER,
    CODES_ROLLUP,
    PATIENTS_ROLLUP,
    PROVIDER_CODES_ROLLUP,
    PROVIDERS_VIEW,
    VISITS_ROLLUP,
)
from analytics.models import RefreshLog

TOP_CODES = 10


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
    with connection.cursor() as cursor:
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
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, limit])
        return [(code, chapter, int(n)) for code, chapter, n in cursor.fetchall()]


def patients_by_age_band() -> dict[str, int]:
    counts = dict.fromkeys(AGE_BAND_ORDER, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT age_band, sum(patients)::bigint FROM {PATIENTS_ROLLUP} GROUP BY 1"  # noqa: S608
        )
        for band, patients in cursor:
            counts[band] = counts.get(band, 0) + int(patients)
    return counts


def patients_by_state() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT state, sum(patients)::bigint FROM {PATIENTS_ROLLUP} "  # noqa: S608
            "GROUP BY 1 ORDER BY 1"
        )
        return {state: int(patients) for state, patients in cursor}


def provider_names() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT provider_id, display_name FROM {PROVIDERS_VIEW}")  # noqa: S608
        return dict(cursor.fetchall())


def data_as_of() -> datetime.datetime | None:
    latest = RefreshLog.objects.order_by("-refreshed_at").values_list("refreshed_at").first()
    return latest[0] if latest else None
