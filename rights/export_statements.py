"""What an export carries with a note after a denied amendment (164.526(d)(4), (5)): the
request, the denial (ground and written reason), the patient's statement of disagreement and the
clinic's rebuttal, as entries linked to the note (rights/exports.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, time

from rights.exports import RESOURCE_NAMESPACE, Addendum
from rights.models import DENIED, AmendmentRequest


def statements_by_visit(
    patient_id: uuid.UUID, names: dict[int, str]
) -> dict[uuid.UUID, list[Addendum]]:
    """The written record of each denied amendment of the patient's notes, by visit: carried with
    the note in every later export (164.526(d)(4), (5))."""
    denied = AmendmentRequest.objects.filter(patient_id=patient_id, outcome=DENIED)
    return statements_of(denied.order_by("decided_on", "recorded_at"), names)


def statements_of(
    denied: Iterable[AmendmentRequest], names: dict[int, str]
) -> dict[uuid.UUID, list[Addendum]]:
    """The entries of each of these denied amendments, by visit, in the order given (the visit
    summary reads them through its own database function, rights/db_visit_summary.py)."""
    by_visit: dict[uuid.UUID, list[Addendum]] = {}
    for a in denied:
        decided = datetime.combine(a.decided_on or a.received_on, time(12), tzinfo=UTC)
        entries = [
            Addendum(
                uuid.uuid5(RESOURCE_NAMESPACE, f"{a.pk}/request"),
                a.requested,
                "The patient",
                datetime.combine(a.received_on, time(12), tzinfo=UTC),
                "Request for amendment (45 CFR 164.526)",
            ),
            Addendum(
                uuid.uuid5(RESOURCE_NAMESPACE, f"{a.pk}/denial"),
                f"{a.get_denial_ground_display()}. {a.denial_reason or ''}".strip(),
                names.get(a.decided_by_id or 0, "The clinic"),
                decided,
                "Denial of amendment (45 CFR 164.526(d))",
            ),
        ]
        if a.disagreement and a.disagreement_on:
            entries.append(
                Addendum(
                    uuid.uuid5(RESOURCE_NAMESPACE, f"{a.pk}/disagreement"),
                    a.disagreement,
                    "The patient",
                    datetime.combine(a.disagreement_on, time(12), tzinfo=UTC),
                    "Statement of disagreement (45 CFR 164.526(d)(1)(iii))",
                )
            )
        if a.rebuttal and a.rebuttal_on:
            entries.append(
                Addendum(
                    uuid.uuid5(RESOURCE_NAMESPACE, f"{a.pk}/rebuttal"),
                    a.rebuttal,
                    "The clinic",
                    datetime.combine(a.rebuttal_on, time(12), tzinfo=UTC),
                    "Rebuttal (45 CFR 164.526(d)(3))",
                )
            )
        by_visit.setdefault(a.record_id, []).extend(entries)
    return by_visit
