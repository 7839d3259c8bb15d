"""Whether a patient's page has anything to show from the patient's rights, asked once.

A page with a patient's header reads up to four things kept under the patient's rights: the
agreed restrictions (the banner, 164.522(a)), the confidential communications in force
(164.522(b)), the amendments of demographic fields or chart items and the denied requests about
chart items (164.526). For almost every patient each read comes back empty, and each was a
statement of its own on every page. `facts()` asks EXISTS of each in one statement and remembers
the answers for the request; a reader whose fact is false skips its read.

Each EXISTS is built from the read's own query (the same filters, the same table), and runs in
the request's transaction under the same role and row-level security, so it is true exactly
when the read would return a row to this caller. A role that never shows a kind is not asked.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from clinic import roles
from clinic.compiled_sql import CompiledSQL, compile_once
from clinic.staff import staff_group
from rights.amendment_models import CHART_KINDS, DEMOGRAPHIC, AmendmentEntry
from rights.models import DENIED, AmendmentRequest
from rights.restriction_models import ConfidentialCommunication, Restriction

RESTRICTIONS = "restrictions"
CONFIDENTIAL = "confidential"
AMENDMENT_ENTRIES = "amendment_entries"
DENIED_CHART_REQUESTS = "denied_chart_requests"
_MEMO = "_clinic_patient_facts"


def restrictions(patient_id: Any) -> QuerySet:
    """The agreed restrictions that have not ended (the banner's read)."""
    return Restriction.objects.active().filter(patient_id=patient_id)


def communications_in_force(patient_id: Any) -> QuerySet:
    return ConfidentialCommunication.objects.filter(patient_id=patient_id, ended_on__isnull=True)


def demographic_amendment_entries(patient_id: Any) -> QuerySet:
    """The amendments of demographic fields (the front desk's, and the patient summary's)."""
    return AmendmentEntry.objects.filter(patient_id=patient_id, target_kind=DEMOGRAPHIC)


def amendment_entries(patient_id: Any, group: str | None) -> QuerySet:
    """The amendments a reader of `group` is shown: the front desk those of demographic fields,
    a clinician every one the database lets it read."""
    if group == roles.FRONT_DESK:
        return demographic_amendment_entries(patient_id)
    return AmendmentEntry.objects.filter(patient_id=patient_id)


def denied_chart_requests(patient_id: Any) -> QuerySet:
    return AmendmentRequest.objects.filter(
        patient_id=patient_id, outcome=DENIED, target_kind__in=CHART_KINDS
    )


# The read behind each fact, for a patient and the reader's group.
QUERIES: dict[str, Callable[[Any, str | None], QuerySet]] = {
    RESTRICTIONS: lambda patient_id, _group: restrictions(patient_id),
    CONFIDENTIAL: lambda patient_id, _group: communications_in_force(patient_id),
    AMENDMENT_ENTRIES: amendment_entries,
    DENIED_CHART_REQUESTS: lambda patient_id, _group: denied_chart_requests(patient_id),
}
# Which facts each role is asked (the readers of each kind; the others are never shown it).
ASKED: dict[str, tuple[str, ...]] = {
    roles.FRONT_DESK: (RESTRICTIONS, CONFIDENTIAL, AMENDMENT_ENTRIES),
    roles.CLINICIAN: (RESTRICTIONS, CONFIDENTIAL, AMENDMENT_ENTRIES, DENIED_CHART_REQUESTS),
    roles.PRIVACY_OFFICER: (RESTRICTIONS,),
}


def facts(request: HttpRequest | None, patient_id: Any) -> dict[str, bool]:
    """{fact: whether the caller's read of it would return a row} for `patient_id`, from one
    statement per request and patient (none for a role that is shown none of them)."""
    if request is None or patient_id is None:
        return {}
    memo: dict[str, dict[str, bool]] = request.__dict__.setdefault(_MEMO, {})
    key = str(patient_id)
    if key not in memo:
        memo[key] = _ask(staff_group(request.user), uuid.UUID(key))
    return memo[key]


def exists_columns(patient_id: Any, group: str) -> dict[str, RawSQL]:
    """The facts `group` is asked, as boolean columns a page's own read of the patient can carry
    (one statement fewer; the chart's, chart/access.py): {column alias: EXISTS (...)}. The
    page then hands the row to `remember`."""
    columns = {}
    for fact in ASKED.get(group, ()):
        sql, params = _exists(fact, patient_id, group)
        columns[_column(fact)] = RawSQL(  # noqa: S611 (the ORM's own SQL and parameters)
            sql, params, output_field=BooleanField()
        )
    return columns


def _exists(fact: str, patient_id: Any, group: str) -> tuple[str, tuple[Any, ...]]:
    """`EXISTS (<the fact's read>)` for the patient, and its parameters."""
    sql, params = QUERIES[fact](patient_id, group).values("pk").query.sql_with_params()
    return f"EXISTS ({sql})", params


def remember(request: HttpRequest, patient_id: Any, group: str, row: Any) -> None:
    """The request's facts for `patient_id`, from a row read with `exists_columns(..., group)`."""
    memo: dict[str, dict[str, bool]] = request.__dict__.setdefault(_MEMO, {})
    memo[str(patient_id)] = {fact: bool(getattr(row, _column(fact))) for fact in ASKED[group]}


def _column(fact: str) -> str:
    return f"rights_fact_{fact}"


def shows(request: HttpRequest | None, patient_id: Any, fact: str) -> bool:
    """False only when asked and known empty: a caller outside a request reads as before."""
    if request is None:
        return True
    return facts(request, patient_id).get(fact, False)


def _ask(group: str | None, patient_id: uuid.UUID) -> dict[str, bool]:
    asked = ASKED.get(group or "", ())
    if not asked:
        return {}
    statement = _statement(group or "")
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params(patient_id))
        row = cursor.fetchone()
    return dict(zip(asked, (bool(value) for value in row), strict=True))


# A patient id no row has: marks the patient's places among the compiled statement's parameters.
_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-00000000fac7")


@functools.cache
def _statement(group: str) -> CompiledSQL:
    """The facts' statement for `group`, compiled once per process (clinic/compiled_sql.py;
    building the EXISTS queries with the ORM cost 1.2-2.7 ms of every patient page): each
    fact's query names the patient once, and nothing else in them depends on the time or the
    caller."""
    parts: list[str] = []
    params: list[Any] = []
    for fact in ASKED[group]:
        sql, values = _exists(fact, _PLACEHOLDER, group)
        parts.append(sql)
        params.extend(values)
    return compile_once("SELECT " + ", ".join(parts), params, _PLACEHOLDER, places=len(parts))
