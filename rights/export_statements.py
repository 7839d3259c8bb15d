"""What an export carries with an item after an amendment request (164.526): for a denied one
((d)(4), (5)) the request, the denial (ground and written reason), the patient's statement of
disagreement and the clinic's rebuttal, as entries linked to the item (rights/record_set.py); for
an accepted one of a chart entry or a demographic field, its amendment entry. A note's accepted
amendment is its addendum, exported with the note's addenda."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from rights.amendment_models import NOTE, AmendmentEntry
from rights.fhir_chart import RESOURCE_NAMESPACE
from rights.models import DENIED, AmendmentRequest
from rights.record_set import Addendum

AMENDMENT = "Amendment (45 CFR 164.526(c))"
REQUEST = "Request for amendment (45 CFR 164.526)"
DENIAL = "Denial of amendment (45 CFR 164.526(d))"
DISAGREEMENT = "Statement of disagreement (45 CFR 164.526(d)(1)(iii))"
REBUTTAL = "Rebuttal (45 CFR 164.526(d)(3))"


def _statement(
    a: AmendmentRequest, part: str, text: str, author: str, on: date, kind: str
) -> Addendum:
    """One written statement of the request `a`: a stable id (the same in every export), noon of
    its day."""
    return Addendum(
        uuid.uuid5(RESOURCE_NAMESPACE, f"{a.pk}/{part}"),
        text,
        author,
        datetime.combine(on, time(12), tzinfo=UTC),
        kind,
    )


def _statements(a: AmendmentRequest, names: dict[int, str]) -> list[Addendum]:
    denial = f"{a.get_denial_ground_display()}. {a.denial_reason or ''}".strip()
    decider = names.get(a.decided_by_id or 0, "The clinic")
    entries = [
        _statement(a, "request", a.requested, "The patient", a.received_on, REQUEST),
        _statement(a, "denial", denial, decider, a.decided_on or a.received_on, DENIAL),
    ]
    if a.disagreement and a.disagreement_on:
        entries.append(
            _statement(
                a, "disagreement", a.disagreement, "The patient", a.disagreement_on, DISAGREEMENT
            )
        )
    if a.rebuttal and a.rebuttal_on:
        entries.append(_statement(a, "rebuttal", a.rebuttal, "The clinic", a.rebuttal_on, REBUTTAL))
    return entries


def _denied(patient_id: uuid.UUID) -> list[AmendmentRequest]:
    denied = AmendmentRequest.objects.filter(patient_id=patient_id, outcome=DENIED)
    return list(denied.order_by("decided_on", "recorded_at"))


def statements_by_visit(
    patient_id: uuid.UUID, names: dict[int, str]
) -> dict[uuid.UUID, list[Addendum]]:
    """The written record of each denied amendment of the patient's notes, by visit: carried with
    the note in every later export (164.526(d)(4), (5))."""
    return statements_of(_denied(patient_id), names)


def statements_of(
    denied: Iterable[AmendmentRequest], names: dict[int, str]
) -> dict[uuid.UUID, list[Addendum]]:
    """The entries of each of these denied amendments of notes, by visit, in the order given
    (the visit summary reads them through its own database function,
    rights/db_visit_summary.py)."""
    by_visit: dict[uuid.UUID, list[Addendum]] = {}
    for a in denied:
        if a.target_kind == NOTE and a.record_id is not None:
            by_visit.setdefault(a.record_id, []).extend(_statements(a, names))
    return by_visit


def statements_by_item(
    patient_id: uuid.UUID, entries: list[AmendmentEntry], names: dict[int, str]
) -> dict[str, list[Addendum]]:
    """Everything attached to the patient's chart entries and demographic fields, by
    "kind:id" (a field name for a demographic field): accepted amendments, then the written
    record of each denial."""
    by_item: dict[str, list[Addendum]] = {}
    for e in sorted(entries, key=lambda e: (e.created_at, str(e.entry_id))):
        by_item.setdefault(f"{e.target_kind}:{e.target_id}", []).append(
            Addendum(
                e.entry_id, e.text, names.get(e.author_id, f"staff {e.author_id}"), e.created_at,
                AMENDMENT,
            )
        )  # fmt: skip
    for a in _denied(patient_id):
        if a.target_kind != NOTE:
            by_item.setdefault(f"{a.target_kind}:{a.target_id}", []).extend(_statements(a, names))
    return by_item
