"""De-identified CSV export of visits (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

The rows come from `analytics_visits_deidentified`, which already reduces every visit to the
year of the visit, the age in that year (90 and over as "90+"), the state, the ICD-10-CM code
and chapter and the provider's staff id: no names, dates below the year, contact details,
numbers, notes or other free text ever leave the database for this export. The patient's key
is replaced here, in the application, by a keyed HMAC of `patient_id` under
`settings.PSEUDONYM_KEY` (which the analyst never sees): stable within and across exports, not
derived from PHI, and not reversible without the key. docs/analytics.md lists all 18 items.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from analytics.db_grants import DEIDENTIFIED_VIEW
from analytics.selectors import VisitFilters, analytics_alias
from clinic.blind_index import decode_base64_key

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
PSEUDONYM_HEX_DIGITS = 20  # 80 bits: no collision in any realistic patient count


class ExportTooLarge(Exception):
    """The selection has more rows than one export may carry."""


def _pseudonym_key() -> bytes:
    raw = getattr(settings, "PSEUDONYM_KEY", "")
    try:
        key = decode_base64_key(raw) if raw else b""
    except ValueError:
        raise ImproperlyConfigured("PSEUDONYM_KEY is not valid base64.") from None
    if len(key) < 32:
        raise ImproperlyConfigured("PSEUDONYM_KEY must decode to at least 32 bytes.")
    return key


def pseudonym(patient_id: uuid.UUID, key: bytes | None = None) -> str:
    digest = hmac.new(key or _pseudonym_key(), patient_id.bytes, hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]


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
        f"SELECT patient_id, visit_year, age_in_visit_year, state, diagnosis_code, chapter, "  # noqa: S608
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
    key = _pseudonym_key()
    cache: dict[uuid.UUID, str] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for patient_id, year, age, state, code, chapter, provider_id in rows:
        name = cache.get(patient_id)
        if name is None:
            name = cache[patient_id] = pseudonym(patient_id, key)
        writer.writerow([name, year, age, state, code, chapter, provider_id])
        count += 1
    return out.getvalue(), count
