"""Reads of the chart (one query per section, the summary's count is tested): every one runs
under the clinician's role, so row-level security filters it again. The sections' reads are
compiled once per process (clinic/compiled_sql.py `CompiledRead`): building each query with
the ORM on every page cost about 0.4 ms apiece."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from chart.access import ChartPatient
from chart.models import (
    BMI,
    MEASURES,
    Allergy,
    ChartHistory,
    Measure,
    Medication,
    Problem,
    VitalSigns,
)
from clinic.compiled_sql import CompiledRead
from clinic.encryption import EncryptedFieldMixin
from records import icd10
from records.models import ClinicalRecord

LAST_VISITS = 5
TREND_POINTS = 50
ITEM_MODELS = {m._meta.db_table: m for m in (Allergy, Problem, VitalSigns, Medication)}


def age_on(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


_ACTIVE_ALLERGIES = CompiledRead(
    lambda patient_id: Allergy.objects.filter(
        patient_id=patient_id, status=Allergy.ACTIVE
    ).order_by("created_at")
)


def active_allergies(patient_id: Any) -> list[Allergy]:
    return _ACTIVE_ALLERGIES(patient_id)


@dataclass
class Banner:
    chart: ChartPatient
    allergies: list[Allergy]
    age: int = 0

    def __post_init__(self) -> None:
        self.age = age_on(self.chart.patient.date_of_birth, timezone.localdate())

    @property
    def patient(self) -> Any:
        return self.chart.patient

    @property
    def allergy_state(self) -> str:
        """'listed' (active allergies), 'none' (no known allergies stated) or 'unknown'."""
        if self.allergies:
            return "listed"
        return "none" if self.chart.no_known_allergies else "unknown"


def banner(chart: ChartPatient) -> Banner:
    return Banner(chart=chart, allergies=active_allergies(chart.patient.pk))


def _problems_query(patient_id: Any, active_only: bool) -> Any:
    queryset = Problem.objects.filter(patient_id=patient_id)
    if active_only:
        queryset = queryset.filter(status=Problem.ACTIVE).defer("note")
    return queryset.order_by("status", "-onset_date", "-created_at")


_PROBLEMS = {
    only: CompiledRead(functools.partial(_problems_query, active_only=only))
    for only in (True, False)
}


def problems(patient_id: Any, *, active_only: bool = False) -> list[dict[str, Any]]:
    return [
        {"problem": p, "description": icd10.description(p.icd10_code)}
        for p in _PROBLEMS[active_only](patient_id)
    ]


def _medications_query(patient_id: Any, current_only: bool) -> Any:
    queryset = Medication.objects.filter(patient_id=patient_id)
    if current_only:
        queryset = queryset.filter(status=Medication.ACTIVE)
    return queryset.order_by("status", "-start_date", "-created_at")


_MEDICATIONS = {
    only: CompiledRead(functools.partial(_medications_query, current_only=only))
    for only in (True, False)
}


def medications(patient_id: Any, *, current_only: bool = False) -> list[Medication]:
    return _MEDICATIONS[current_only](patient_id)


@functools.cache
def _vital_signs_read(limit: int) -> CompiledRead[VitalSigns]:
    return CompiledRead(
        lambda patient_id: VitalSigns.objects.filter(
            patient_id=patient_id, entered_in_error=False
        ).order_by("-taken_at")[:limit]
    )


def vital_signs(patient_id: Any, limit: int = TREND_POINTS) -> list[VitalSigns]:
    """The latest sets of measurements (not in error), newest first."""
    return _vital_signs_read(limit)(patient_id)


@dataclass
class Latest:
    measure: Measure
    value: Any
    taken_at: datetime.datetime


def latest_values(sets: list[VitalSigns]) -> list[Latest]:
    """The most recent value of each measure (sets newest first), BMI from the same set."""
    found: list[Latest] = []
    for measure in (*MEASURES, BMI):
        for vitals in sets:
            value = getattr(vitals, measure.column)
            if value is not None:
                found.append(Latest(measure, value, vitals.taken_at))
                break
    return found


def last_visits(patient_id: Any) -> list[dict[str, Any]]:
    visits = (
        ClinicalRecord.objects.filter(patient_id=patient_id)
        .defer("notes")
        .select_related("provider")
        .order_by("-visit_date", "-created_at")[:LAST_VISITS]
    )
    return [{"visit": v, "description": icd10.description(v.diagnosis_code)} for v in visits]


@dataclass
class Version:
    changed_at: datetime.datetime
    author: str
    operation: str
    changes: list[tuple[str, str]] = field(default_factory=list)


def _shown(model: Any, name: str, value: Any) -> str:
    model_field = model._meta.get_field(name)
    if value is None or value == "":
        return "—"
    if getattr(model_field, "choices", None):
        return str(dict(model_field.choices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def history(item: Any) -> list[Version]:
    """Every stored version of `item`, oldest first, with what each one changed (free text
    decrypted here, with the item column's own key binding)."""
    model = type(item)
    rows = list(
        ChartHistory.objects.filter(item_table=model._meta.db_table, item_id=str(item.pk))
        .order_by("history_id")
        .values("changed_at", "changed_by_id", "operation", "row")
    )
    authors = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model()
        .objects.filter(pk__in={r["changed_by_id"] for r in rows})
        .only("username", "first_name", "last_name")
    }
    skipped = {"updated_at", "created_at", "patient_id", "recorded_by_id", model._meta.pk.column}
    versions: list[Version] = []
    previous: dict[str, Any] = {}
    for row in rows:
        values = {}
        for model_field in model._meta.concrete_fields:
            if model_field.column in skipped:
                continue
            raw = row["row"].get(model_field.column)
            if isinstance(model_field, EncryptedFieldMixin) and raw is not None:
                raw = model_field.from_db_value(raw, None, connection)
            values[model_field.name] = raw
        changes = [
            (str(model._meta.get_field(name).verbose_name), _shown(model, name, value))
            for name, value in values.items()
            if previous.get(name, object()) != value
            and not (row["operation"] == "INSERT" and value in (None, ""))
        ]
        previous = values
        if row["operation"] == "UPDATE" and not changes:
            continue  # maintenance (e.g. re-encryption under a new key): nothing to show
        versions.append(
            Version(
                row["changed_at"],
                authors.get(row["changed_by_id"] or 0, "—"),
                "Recorded" if row["operation"] == "INSERT" else "Changed",
                changes,
            )
        )
    return versions
