"""BENCHMARK-ONLY. The chart summary with the security layers off (issue 18's comparison): the
patient from the plaintext `bench_plain_patients`, allergies and medications from their
plaintext copies (`bench_plain_allergies`, `bench_plain_medications`; benchmarks/chart_dataset.py),
problems, vital signs, the "no known allergies" flag and the last visits from the real tables,
all on the owner connection: no role switch, no row-level-security filtering (the owner's
policy is USING (true)), no care-team or break-the-glass decision, no decryption, no
access-log event. Same template, same selectors for what they compute (latest values, ICD-10
descriptions), one query per section as the secure page; the reads of tables the two share
(problems, vital signs) are the secure page's own compiled reads (chart/selectors.py,
clinic/compiled_sql.py `CompiledRead`) on the owner connection, and the "no known allergies"
flag is compiled the same way. Never imported by the application.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from benchmarks.baseline_views import ALIAS, PlainPatient, _patient
from chart import selectors
from chart.access import ChartPatient
from chart.models import ROUTES, SEVERITIES, AllergyReview
from clinic.compiled_sql import CompiledRead
from records import icd10
from records.models import ClinicalRecord


@dataclass
class PlainChartPatient(PlainPatient):
    administrative_sex: str = "unknown"
    gender_identity: str = ""

    def get_administrative_sex_display(self) -> str:
        return self.administrative_sex.capitalize()


@dataclass
class PlainAllergy:
    substance: str
    reaction: str
    severity: str

    def get_severity_display(self) -> str:
        return dict(SEVERITIES).get(self.severity, self.severity)


@dataclass
class PlainMedication:
    name: str
    dose: str
    route: str
    frequency: str
    start_date: date | None
    created_at: datetime

    def get_route_display(self) -> str:
        return dict(ROUTES).get(self.route, self.route)


_NO_KNOWN_ALLERGIES = CompiledRead(
    lambda patient_id: AllergyReview.objects.filter(
        patient_id=patient_id, no_known_allergies=True
    ).only("pk")
)


def _rows(query: str, patient_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(query, [patient_id])
        return cursor.fetchall()


@login_required
def summary(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    plain = _patient(patient_id)
    patient = PlainChartPatient(**vars(plain))
    allergies = [
        PlainAllergy(*row)
        for row in _rows(
            "SELECT substance, reaction, severity FROM bench_plain_allergies "
            "WHERE patient_id = %s AND status = 'active' ORDER BY created_at",
            patient_id,
        )
    ]
    nka = bool(_NO_KNOWN_ALLERGIES(patient_id, using=ALIAS))
    chart = ChartPatient(patient=patient, break_the_glass=False, no_known_allergies=nka)  # type: ignore[arg-type]
    problems = selectors._PROBLEMS[True](patient_id, using=ALIAS)
    medications = [
        PlainMedication(*row)
        for row in _rows(
            "SELECT name, dose, route, frequency, start_date, created_at "
            "FROM bench_plain_medications WHERE patient_id = %s AND status = 'active' "
            "ORDER BY status, start_date DESC, created_at DESC",
            patient_id,
        )
    ]
    vitals = selectors._vital_signs_read(10)(patient_id, using=ALIAS)
    visits = (
        ClinicalRecord.objects.using(ALIAS)
        .filter(patient_id=patient_id)
        .defer("notes")
        .select_related("provider")
        .order_by("-visit_date", "-created_at")[: selectors.LAST_VISITS]
    )
    return render(
        request,
        "chart/summary.html",
        {
            "banner": selectors.Banner(chart=chart, allergies=allergies),  # type: ignore[arg-type]
            "patient": patient,
            "section": "summary",
            "problems": [
                {"problem": p, "description": icd10.description(p.icd10_code)} for p in problems
            ],
            "medications": medications,
            "latest": selectors.latest_values(vitals),
            "visits": [
                {"visit": v, "description": icd10.description(v.diagnosis_code)} for v in visits
            ],
        },
    )
