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
    rows = ClinicalRecord.objects.order_by("-visit_date", "record_id").values(
        "record_id", "visit_date", "diagnosis_code", "provider_id"
    )[:ROWS]
    return render(request, "bare/visits.html", {"rows": rows})
