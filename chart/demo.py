"""Demo chart data, run by `manage.py seed_demo` (clinic/demo_hooks.py) after the visits.

For at most DEMO_CHARTS demo patients (in patient-id order, those without any chart item):
a problem or two with real billable ICD-10-CM codes, an allergy or an explicit "no known
allergies" (or neither: not asked), a medication or two, and six sets of vital signs a month
apart, plausible by construction. Deterministic per (seed, patient); idempotent. Written through
the owner connection (the database's history trigger records each row). Bounded so that a
large `seed_demo` (make bench) is not slowed by it: the chart's benchmark data is not built yet
(docs/chart.md).
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from chart.models import Allergy, AllergyReview, Medication, Problem, VitalSigns
from clinic.demo_hooks import register
from patients.models import PatientIdentity
from records.demo import COMMON_CODES

OWNER = "owner"
DEMO_CHARTS = 200
SUBSTANCES = [("Penicillin", "Hives"), ("Peanuts", "Swelling of the lips"),
              ("Sulfonamides", "Rash"), ("Latex", "Itching"), ("Codeine", "Nausea")]  # fmt: skip
DRUGS = [("Lisinopril 10 mg tablet", "1 tablet", "once a day"),
         ("Metformin 500 mg tablet", "1 tablet", "twice a day"),
         ("Atorvastatin 20 mg tablet", "1 tablet", "at night"),
         ("Salbutamol 100 micrograms inhaler", "2 puffs", "as needed")]  # fmt: skip
ROUTES = {"Salbutamol 100 micrograms inhaler": "inhaled"}


def _chart_for(patient_id: Any, rng: random.Random, author: Any, today: datetime.date) -> list:
    now = timezone.now()
    rows: list[Any] = []
    common = {"patient_id": patient_id, "recorded_by": author, "created_at": now, "updated_at": now}
    for code in rng.sample(COMMON_CODES[:20], rng.randint(1, 2)):
        onset = today - datetime.timedelta(days=rng.randint(60, 1500))
        rows.append(Problem(icd10_code=code, onset_date=onset, **common))
    state = rng.random()
    if state < 0.5:
        substance, reaction = rng.choice(SUBSTANCES)
        rows.append(Allergy(substance=substance, reaction=reaction, severity="moderate", **common))
    elif state < 0.8:
        rows.append(
            AllergyReview(
                patient_id=patient_id, no_known_allergies=True, recorded_by=author, updated_at=now
            )
        )
    for name, dose, frequency in rng.sample(DRUGS, rng.randint(1, 2)):
        rows.append(
            Medication(
                name=name,
                dose=dose,
                frequency=frequency,
                route=ROUTES.get(name, "oral"),
                start_date=today - datetime.timedelta(days=rng.randint(30, 900)),
                **common,
            )
        )
    systolic, weight = rng.randint(115, 150), Decimal(rng.randint(550, 1000)) / 10
    height = Decimal(rng.randint(1550, 1900)) / 10
    for month in range(6, 0, -1):
        rows.append(
            VitalSigns(
                taken_at=now - datetime.timedelta(days=30 * month),
                systolic=systolic + rng.randint(-8, 8),
                diastolic=rng.randint(70, 90),
                heart_rate=rng.randint(58, 92),
                temperature=Decimal(rng.randint(362, 374)) / 10,
                respiratory_rate=rng.randint(12, 18),
                spo2=rng.randint(95, 99),
                weight=weight + Decimal(rng.randint(-15, 15)) / 10,
                height=height,
                **common,
            )
        )
    return rows


@register
def seed_demo_chart(command: Any, staff: dict, options: dict) -> None:
    author, seed, today = staff["clinician"], int(options.get("seed") or 0), timezone.localdate()
    charted = set(Problem.objects.using(OWNER).values_list("patient_id", flat=True))
    patients = PatientIdentity.objects.using(OWNER).order_by("patient_id")
    wanted = options.get("demo_patient_ids")
    if wanted:
        patients = patients.filter(pk__in=list(wanted))
    todo = [pid for pid in patients.values_list("patient_id", flat=True)[:DEMO_CHARTS]]
    by_model: dict[type[models.Model], list] = {}
    for patient_id in todo:
        if patient_id in charted:
            continue
        rng = random.Random(f"{seed}:chart:{patient_id}")
        for row in _chart_for(patient_id, rng, author, today):
            by_model.setdefault(type(row), []).append(row)
    with transaction.atomic(using=OWNER):
        for model, rows in by_model.items():
            model._default_manager.using(OWNER).bulk_create(rows)
