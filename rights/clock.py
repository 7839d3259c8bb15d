"""Patients' requests on a clock, for the privacy officer's home page (issue #21, item 3).

Every open request a patient made under the Privacy Rule with a deadline: access (164.524, 30
days, one 30-day extension) and amendment (164.526, 60 days, one 30-day extension), soonest due
first, so overdue ones lead. Days are counted on the clinic's calendar (`timezone.localdate()`,
settings.TIME_ZONE, the same date as the database's `clinic_today()`), never the UTC date.
Each row names a patient, so each patient shown is an access-log event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from clinic import access_log
from patients.models import PatientIdentity
from privacy.access import IDENTITY_COLUMNS
from rights.models import AccessRequest, AmendmentRequest

SHOWN = 10


@dataclass(frozen=True)
class ClockRow:
    kind: str
    patient_id: uuid.UUID
    patient_name: str
    received_on: date
    due_on: date
    extended: bool
    days_left: int
    url: str

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left


def days_left(due_on: date, today: date) -> int:
    """Whole days from the clinic's today to the due date: 0 on the day it falls due (still in
    time), negative once it has passed."""
    return (due_on - today).days


class OnClock(Protocol):
    """What a request on a clock has (AccessRequest, AmendmentRequest)."""

    patient_id: uuid.UUID
    received_on: date
    due_on: date
    extended_on: date | None


def _pending() -> list[tuple[str, OnClock, str]]:
    """(kind, request, url) of every open request with a clock."""
    rows: list[tuple[str, OnClock, str]] = [
        ("Access", r, reverse("rights:request-detail", args=[r.patient_id, r.request_id]))
        for r in AccessRequest.objects.open_by_due_date()
    ]
    rows += [
        ("Amendment", a, reverse("rights:amendment-detail", args=[a.patient_id, a.amendment_id]))
        for a in AmendmentRequest.objects.open_by_due_date()
    ]
    return rows


def requests_on_clock(request: HttpRequest, today: date | None = None) -> dict[str, object]:
    """The home page's context: the open requests soonest due first (at most SHOWN), how many
    are open and how many overdue. Logs each patient shown."""
    today = today or timezone.localdate()
    pending = _pending()
    pending.sort(key=lambda row: (row[1].due_on, row[1].received_on))
    shown = pending[:SHOWN]
    patients = PatientIdentity.objects.only(*IDENTITY_COLUMNS).in_bulk(
        {item.patient_id for _kind, item, _url in shown}
    )
    rows = []
    for kind, item, url in shown:
        patient = patients[item.patient_id]
        rows.append(
            ClockRow(
                kind=kind,
                patient_id=patient.pk,
                patient_name=f"{patient.first_name} {patient.last_name}",
                received_on=item.received_on,
                due_on=item.due_on,
                extended=item.extended_on is not None,
                days_left=days_left(item.due_on, today),
                url=url,
            )
        )
    for patient_id in patients:
        access_log.record(request, access_log.ACCESS_REQUESTS_LISTED, patient_id=patient_id)
    return {
        "clock_rows": rows,
        "clock_open": len(pending),
        "clock_overdue": sum(
            1 for _kind, item, _url in pending if days_left(item.due_on, today) < 0
        ),
        "clock_today": today,
    }
