"""Writes to the chart (HackSoft style: `<entity>_<action>(*, ...)`, atomic).

Run inside the request's transaction under the clinician's database role: row-level security
decides whose chart may be written, the write triggers check authorship, codes and dates, and
the history trigger keeps every version (chart/db_checks.py). Nothing is deleted.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chart.models import Allergy, AllergyReview, Medication, Problem, VitalSigns
from patients.models import PatientIdentity


def _stamp(item: Any, changes: dict[str, Any]) -> Any:
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = timezone.now()
    item.full_clean(exclude=["patient", "recorded_by"])
    item.save(update_fields=[*changes, "updated_at"])
    return item


def _withdraw_no_known_allergies(patient_id: Any, author: Any) -> None:
    """An active allergy ends a standing "no known allergies" statement, signed by the same
    clinician, in the same transaction (the database refuses the allergy otherwise)."""
    AllergyReview.objects.filter(patient_id=patient_id, no_known_allergies=True).update(
        no_known_allergies=False, recorded_by=author, updated_at=timezone.now()
    )


@transaction.atomic
def allergy_create(*, patient: PatientIdentity, author: Any, **values: Any) -> Allergy:
    _withdraw_no_known_allergies(patient.pk, author)
    now = timezone.now()
    allergy = Allergy(patient=patient, recorded_by=author, created_at=now, updated_at=now, **values)
    allergy.full_clean()
    allergy.save(force_insert=True)
    return allergy


@transaction.atomic
def allergy_update(*, allergy: Allergy, author: Any, **changes: Any) -> Allergy:
    if changes.get("status") == Allergy.ACTIVE:
        _withdraw_no_known_allergies(allergy.patient_id, author)
    return _stamp(allergy, changes)


@transaction.atomic
def no_known_allergies_record(*, patient: PatientIdentity, author: Any) -> AllergyReview:
    review, _created = AllergyReview.objects.update_or_create(
        patient=patient,
        defaults={"no_known_allergies": True, "recorded_by": author, "updated_at": timezone.now()},
    )
    return review


@transaction.atomic
def problem_create(*, patient: PatientIdentity, author: Any, **values: Any) -> Problem:
    now = timezone.now()
    problem = Problem(patient=patient, recorded_by=author, created_at=now, updated_at=now, **values)
    problem.full_clean()
    problem.save(force_insert=True)
    return problem


@transaction.atomic
def problem_update(*, problem: Problem, **changes: Any) -> Problem:
    return _stamp(problem, changes)


@transaction.atomic
def problem_resolve(*, problem: Problem, resolved_on: datetime.date) -> Problem:
    return _stamp(problem, {"status": Problem.RESOLVED, "resolved_on": resolved_on})


@transaction.atomic
def problem_reactivate(*, problem: Problem) -> Problem:
    return _stamp(problem, {"status": Problem.ACTIVE, "resolved_on": None})


@transaction.atomic
def vital_signs_record(
    *, patient: PatientIdentity, author: Any, taken_at: datetime.datetime, **measurements: Any
) -> VitalSigns:
    now = timezone.now()
    vitals = VitalSigns(
        patient=patient,
        recorded_by=author,
        taken_at=taken_at,
        created_at=now,
        updated_at=now,
        **measurements,
    )
    vitals.full_clean()
    vitals.save(force_insert=True)
    return vitals


@transaction.atomic
def vital_signs_mark_in_error(*, vitals: VitalSigns) -> VitalSigns:
    return _stamp(vitals, {"entered_in_error": True})


@transaction.atomic
def medication_create(*, patient: PatientIdentity, author: Any, **values: Any) -> Medication:
    now = timezone.now()
    medication = Medication(
        patient=patient, recorded_by=author, created_at=now, updated_at=now, **values
    )
    medication.full_clean()
    medication.save(force_insert=True)
    return medication


@transaction.atomic
def medication_update(*, medication: Medication, **changes: Any) -> Medication:
    return _stamp(medication, changes)
