"""De-identified CSV export of visits (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

The rows come from `analytics_visits_deidentified`, which already reduces every visit to the
year of the visit, the age in that year (90 and over as "90+"), the state, the ICD-10-CM code
and chapter and the provider's staff id: no names, dates below the year, contact details,
numbers, notes or other free text ever leave the database for this export. The patient's key
is a keyed HMAC of `patient_id` under `settings.PSEUDONYM_KEY`, computed in the view itself
(analytics/pseudonyms.py), so the real id never reaches the analyst's relations: stable within
and across exports, not derived from PHI, and not reversible without the key.
docs/analytics.md lists all 18 items.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.db import connections

from analytics.db_grants import DEIDENTIFIED_VIEW
from analytics.selectors import VisitFilters, analytics_alias

COLUMNS = [
    "patient_pseudonym",
    "visit_year",
    "age_in_visit_year",
    "state",
    "diagnosis_code",
    "icd10_chapter",
    "provider_id",
]
MAX_ROWS = 1_000_000


class ExportTooLarge(Exception):
    """The selection has more rows than one export may carry."""


def export_rows(filters: VisitFilters, limit: int = MAX_ROWS) -> Iterable[tuple]:
    """Visits of the whole years covered by the filters' months, ordered by year."""
    clauses = ["visit_year BETWEEN %s AND %s"]
    params: list = [filters.start.year, filters.end.year]
    if filters.chapter:
        clauses.append("chapter = %s")
        params.append(filters.chapter)
    if filters.provider_id is not None:
        clauses.append("provider_id = %s")
        params.append(filters.provider_id)
    query = (
        f"SELECT patient_pseudonym, visit_year, age_in_visit_year, state, diagnosis_code, chapter, "  # noqa: S608
        f"provider_id FROM {DEIDENTIFIED_VIEW} WHERE {' AND '.join(clauses)} "
        "ORDER BY visit_year LIMIT %s"
    )
    with connections[analytics_alias()].cursor() as cursor:
        cursor.execute(query, [*params, limit + 1])
        rows = cursor.fetchall()
    if len(rows) > limit:
        raise ExportTooLarge
    return rows


def write_csv(rows: Iterable[tuple]) -> tuple[str, int]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return out.getvalue(), count
