"""BENCHMARK-ONLY. The bare anchor: a plain Django view, one ORM query, a 50-row template.

The 50 newest visits of the scratch database (plaintext columns only: date, code, provider id),
read with the ORM on the owner connection and rendered in a plain table. No sign-in, no
session read, no role switch, no decryption, no access log: what any small Django page does,
so the clinic's pages can be read as a ratio to it (benchmarks/run.py prints them).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from records.models import ClinicalRecord

ROWS = 50


def visits(request: HttpRequest) -> HttpResponse:
    # By date alone: a backward scan of the date index that stops at 50 rows at any scale. With
    # a tie-break on the id, PostgreSQL sorted the newest day's visits on every request (185
    # rows at small scale, about 9,000 at full scale), so the anchor slowed with the data
    # (569 req/s small, 226 full on one machine, 2026-12-07).
    rows = ClinicalRecord.objects.order_by("-visit_date").values(
        "record_id", "visit_date", "diagnosis_code", "provider_id"
    )[:ROWS]
    return render(request, "bare/visits.html", {"rows": rows})
