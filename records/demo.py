"""Demo visits and care teams, run by `manage.py seed_demo` (clinic/demo_hooks.py).

For every demo patient (all identities unless `options["demo_patient_ids"]` names some):
`visits_per_patient` visits with real billable ICD-10-CM codes, Faker notes (encrypted like any
note), dates over the last three years, providers alternating between the two demo clinicians;
and a care team: `clinician` on about half the patients, `clinician2` on the other half, both on
about one in ten.

Deterministic: each patient's data comes from a generator seeded with (seed, patient id), so it
does not depend on order or batch size. Idempotent: patients that already have visits (or a care
team) are skipped. Written with bulk_create through the owner connection, one transaction per
batch of patients, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.demo_hooks import register
from patients.models import PatientIdentity
from records import icd10
from records.models import CareTeamMember, ClinicalRecord

OWNER = "owner"
PATIENTS_PER_BATCH = 2000
INSERT_BATCH = 5000
NOTE_POOL_SIZE = 500
HISTORY_DAYS = 3 * 365
SHARED_CARE_SHARE = 0.1
# One demo visit in this many, among those old enough to be overdue, is left unsigned, so the
# unsigned-notes list (records/unsigned.py) has something to show; the others are signed by
# their provider at the end of the visit's day (docs/notes.md).
UNSIGNED_ONE_IN = 50
SIGNED_AT = datetime.time(18, 0)

# Common billable ICD-10-CM codes of a primary-care clinic (checked against the code set).
COMMON_CODES = [
    "I10", "E11.9", "E78.5", "E78.00", "J06.9", "J02.9", "J01.90", "J20.9", "J45.909",
    "J44.9", "J30.9", "N39.0", "M54.50", "M54.2", "M25.561", "M17.11", "M79.10", "K21.9",
    "K59.00", "K58.9", "R10.9", "R51.9", "R05.9", "R50.9", "R53.83", "F41.1", "F32.A",
    "F41.9", "G47.00", "G43.909", "E03.9", "E55.9", "E66.9", "D64.9", "L30.9", "B34.9",
    "H10.9", "H66.90", "Z00.00", "Z23",
]  # fmt: skip


def demo_codes() -> list[str]:
    invalid = [code for code in COMMON_CODES if not icd10.is_valid_diagnosis(code)]
    if invalid:
        raise ValueError(f"Not billable ICD-10-CM codes in the demo list: {invalid}")
    return [icd10.dotted(code) for code in COMMON_CODES]


def note_pool(seed: int, size: int = NOTE_POOL_SIZE) -> list[str]:
    """Fake, obviously non-clinical text (Faker), drawn once and reused across visits."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [f"Demo note (fake data). {fake.paragraph(nb_sentences=4)}" for _ in range(size)]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Progress:
    def __init__(self, command: Any, total: int):
        self.command, self.total, self.done, self.rows = command, total, 0, 0
        self.started = time.monotonic()

    def advance(self, patients: int, rows: int) -> None:
        self.done += patients
        self.rows += rows
        self._write(f"\r  visits: {self.done}/{self.total} patients, {self.rows} rows", ending="")

    def finish(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.rows / elapsed
        self._write(f"\r  visits: {self.rows} rows in {elapsed:.1f} s ({rate:.0f} rows/s)")
        return rate

    def _write(self, text: str, ending: str = "\n") -> None:
        stdout = getattr(self.command, "stdout", None)
        if stdout is not None:
            stdout.write(text, ending=ending)
            stdout.flush()


def _visits_for(
    patient_id: uuid.UUID,
    birth_year: int,
    rng: random.Random,
    *,
    count: int,
    codes: list[str],
    notes: list[str],
    providers: list[Any],
    today: datetime.date,
) -> list[ClinicalRecord]:
    # Never before the end of the birth year: the date of birth itself is encrypted.
    earliest = max(
        today - datetime.timedelta(days=HISTORY_DAYS), min(datetime.date(birth_year, 12, 31), today)
    )
    span = (today - earliest).days
    first_provider = rng.randrange(len(providers))
    visits = [
        ClinicalRecord(
            record_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            patient_id=patient_id,
            provider_id=providers[(first_provider + number) % len(providers)].pk,
            diagnosis_code=rng.choice(codes),
            notes=rng.choice(notes),
            visit_date=earliest + datetime.timedelta(days=rng.randint(0, span)),
        )
        for number in range(count)
    ]
    for visit in visits:
        _sign_if_old(visit, today)
    return visits


def _sign_if_old(visit: ClinicalRecord, today: datetime.date) -> None:
    """Sign a visit older than UNSIGNED_NOTE_DAYS, but one in UNSIGNED_ONE_IN, as its provider
    would have (deterministic: decided by the visit's id, no draw from the patient's rng)."""
    overdue_before = today - datetime.timedelta(days=settings.UNSIGNED_NOTE_DAYS)
    if visit.visit_date >= overdue_before or visit.record_id.int % UNSIGNED_ONE_IN == 0:
        return
    visit.signed_at = datetime.datetime.combine(
        visit.visit_date, SIGNED_AT, tzinfo=timezone.get_current_timezone()
    )
    visit.signed_by_id = visit.provider_id


def _care_team_for(
    patient_id: uuid.UUID, rng: random.Random, clinicians: list[Any], today: datetime.date
) -> list[CareTeamMember]:
    first = 0 if rng.random() < 0.5 else 1
    chosen = [clinicians[first]]
    if rng.random() < SHARED_CARE_SHARE:
        chosen.append(clinicians[1 - first])
    starts_on = today - datetime.timedelta(days=rng.randint(0, HISTORY_DAYS))
    reason = "shared care" if len(chosen) > 1 else "primary care"
    return [
        CareTeamMember(staff_id=c.pk, patient_id=patient_id, starts_on=starts_on, reason=reason)
        for c in chosen
    ]


def _demo_patients(options: dict) -> list[tuple[uuid.UUID, int]]:
    patients = PatientIdentity.objects.using(OWNER).order_by("patient_id")
    wanted: Iterable[Any] | None = options.get("demo_patient_ids")
    if wanted:
        patients = patients.filter(pk__in=list(wanted))
    return list(patients.values_list("patient_id", "birth_year"))


def seed_visits_and_care_teams(command: Any, staff: dict, options: dict) -> dict[str, float]:
    clinicians = [staff["clinician"], staff["clinician2"]]
    seed = int(options.get("seed") or 0)
    per_patient = int(options.get("visits_per_patient") or 0)
    today = timezone.localdate()
    codes, notes = demo_codes(), note_pool(seed)

    patients = _demo_patients(options)
    with_visits = set(
        ClinicalRecord.objects.using(OWNER).values_list("patient_id", flat=True).distinct()
    )
    with_team = set(
        CareTeamMember.objects.using(OWNER).values_list("patient_id", flat=True).distinct()
    )
    todo = [(pid, year) for pid, year in patients if pid not in with_visits or pid not in with_team]
    progress = _Progress(command, len(todo))
    for batch in _chunks(todo, PATIENTS_PER_BATCH):
        records: list[ClinicalRecord] = []
        members: list[CareTeamMember] = []
        for patient_id, birth_year in batch:
            rng = random.Random(f"{seed}:{patient_id}")
            visits = _visits_for(
                patient_id,
                birth_year,
                rng,
                count=per_patient,
                codes=codes,
                notes=notes,
                providers=clinicians,
                today=today,
            )
            team = _care_team_for(patient_id, rng, clinicians, today)
            if patient_id not in with_visits:
                records.extend(visits)
            if patient_id not in with_team:
                members.extend(team)
        with transaction.atomic(using=OWNER):
            ClinicalRecord.objects.using(OWNER).bulk_create(records, batch_size=INSERT_BATCH)
            CareTeamMember.objects.using(OWNER).bulk_create(members, batch_size=INSERT_BATCH)
        progress.advance(len(batch), len(records) + len(members))
    rate = progress.finish()
    return {"patients": len(todo), "rows": progress.rows, "rows_per_second": rate}


@register
def seed_demo_records(command: Any, staff: dict, options: dict) -> None:
    seed_visits_and_care_teams(command, staff, options)
