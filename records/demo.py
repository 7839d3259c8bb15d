"""Demo visits and care teams, run by `manage.py seed_demo` (clinic/demo_hooks.py).

For every demo patient (all identities unless `options["demo_patient_ids"]` names some): a care
team (`clinician` for about 60% of the patients, `clinician2` for the others, both for about one
in ten) and about two years of visits with real billable ICD-10-CM codes and Faker notes
(encrypted like any note). The history is shaped so the analyst's dashboards show real shapes:

- `visits_per_patient` is the average: older patients come more often, some patients once;
- the clinic grows over the two years, is busier in winter and quieter in August, and sees
  patients on weekdays only;
- common codes are common (a long tail), respiratory infections peak in winter and flu shots in
  the autumn, and two chapters have only a handful of visits, so the suppression of small
  cells stays visible;
- most visits are with a clinician of the patient's care team.

Deterministic: each patient's data comes from a generator seeded with (seed, patient id), so it
does not depend on order or batch size (visit dates are relative to the clinic's today).
Idempotent: patients that already have visits (or a care team) are skipped. Written with COPY
(clinic/bulk_copy.py) through the owner connection, one transaction per batch of patients, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import bisect
import calendar
import datetime
import itertools
import math
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from clinic.bulk_copy import copy_models
from clinic.demo_hooks import register
from patients.models import PatientIdentity
from records import icd10
from records.icd10_table import TABLE as CODE_TABLE
from records.models import CareTeamMember, ClinicalRecord

OWNER = "owner"
PATIENTS_PER_BATCH = 2000
NOTE_POOL_SIZE = 500
HISTORY_MONTHS = 24
SHARED_CARE_SHARE = 0.1
# One demo visit in this many, among those old enough to be overdue, is left unsigned, so the
# unsigned-notes list (records/unsigned.py) has something to show; the others are signed by
# their provider at the end of the visit's day (docs/notes.md).
UNSIGNED_ONE_IN = 50
SIGNED_AT = datetime.time(18, 0)
FIRST_CLINICIAN_SHARE = 0.6
OWN_CLINICIAN_SHARE = 0.85

# Common billable ICD-10-CM codes of a primary-care clinic, most common first (checked against
# the code set's table); their weights fall off as a long tail.
COMMON_CODES = [
    "I10", "Z00.00", "E11.9", "E78.5", "J06.9", "M54.50", "Z23", "F41.1", "J02.9", "K21.9",
    "E66.9", "F32.A", "J20.9", "N39.0", "E03.9", "J45.909", "M25.561", "R05.9", "J01.90",
    "M54.2", "G47.00", "E78.00", "J30.9", "R10.9", "K59.00", "L30.9", "B34.9", "H66.90",
    "E55.9", "M17.11", "R51.9", "G43.909", "F41.9", "R53.83", "J44.9", "H10.9", "K58.9",
    "M79.10", "S93.401A", "D22.5", "R50.9", "D64.9", "L70.0", "N30.00",
]  # fmt: skip
# Respiratory and ear infections: several times as common in January as in July.
WINTER_CODES = {"J06.9", "J02.9", "J20.9", "J01.90", "R05.9", "R50.9", "B34.9", "H66.90"}
FLU_SHOT = "Z23"
# Two chapters (perinatal, congenital) a primary-care clinic sees a few times a year: each code
# about one visit in 2,500, so their counts stay small and the dashboards suppress them.
RARE_CODES = ["P59.9", "Q38.1"]
RARE_SHARE = 1 / 2500


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


def demo_codes(using: str = OWNER) -> list[str]:
    """The demo's codes, dotted, each checked against the database's code set (one query, not
    the 6-second parse of the offline code set)."""
    codes = [icd10.dotted(code) for code in [*COMMON_CODES, *RARE_CODES]]
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT code FROM {CODE_TABLE} WHERE code = ANY(%s)",  # noqa: S608  (a constant)
            [codes],
        )
        known = {row[0] for row in cursor.fetchall()}
    invalid = [code for code in codes if code not in known]
    if invalid:
        raise ValueError(f"Not billable ICD-10-CM codes in the demo list: {invalid}")
    return codes


def _season(month: int) -> float:
    """1 in spring and autumn, above in winter, below in summer (peak in January)."""
    return math.cos(2 * math.pi * (month - 1) / 12)


class History:
    """The demo clinic's calendar: which month a visit falls in and which code it has."""

    def __init__(self, today: datetime.date, codes: list[str]):
        first = _add_months(today.replace(day=1), -HISTORY_MONTHS)
        self.today = today
        self.months = [_add_months(first, n) for n in range(HISTORY_MONTHS + 1)]
        weights = []
        for number, month in enumerate(self.months):
            growth = 0.75 + 0.5 * number / HISTORY_MONTHS
            busy = (1 + 0.15 * _season(month.month)) * (0.8 if month.month == 8 else 1.0)
            days = calendar.monthrange(month.year, month.month)[1]
            elapsed = today.day / days if month == self.months[-1] else 1.0
            weights.append(growth * busy * elapsed)
        self.month_weights = list(itertools.accumulate(weights))
        common = {code: 1 / (rank + 1) ** 0.9 for rank, code in enumerate(codes)}
        rare = {icd10.dotted(code) for code in RARE_CODES}
        base_total = sum(weight for code, weight in common.items() if code not in rare)
        self.codes = codes
        self.code_weights: dict[int, list[float]] = {}
        for calendar_month in range(1, 13):
            code_weights = []
            for code in codes:
                if code in rare:
                    weight = base_total * RARE_SHARE
                elif code in WINTER_CODES:
                    weight = common[code] * (1 + 0.8 * _season(calendar_month))
                elif code == FLU_SHOT:
                    weight = common[code] * (4.0 if calendar_month in (9, 10, 11) else 0.3)
                else:
                    weight = common[code]
                code_weights.append(weight)
            self.code_weights[calendar_month] = list(itertools.accumulate(code_weights))

    def visit_date(self, rng: random.Random, earliest: datetime.date) -> datetime.date:
        """A weekday in a month drawn by the clinic's volume, not before `earliest`."""
        for _attempt in range(8):
            month = self.months[
                bisect.bisect(self.month_weights, rng.random() * self.month_weights[-1])
            ]
            last_day = self.today.day if month == self.months[-1] else None
            days = last_day or calendar.monthrange(month.year, month.month)[1]
            day = month.replace(day=rng.randint(1, days))
            if day.weekday() >= 5:  # closed at weekends: a weekday of the same week
                day -= datetime.timedelta(days=day.weekday() - rng.randint(0, 4))
            if day >= earliest:
                return day
        return max(
            earliest, min(self.today, earliest + datetime.timedelta(days=rng.randint(0, 30)))
        )

    def code(self, rng: random.Random, on: datetime.date) -> str:
        weights = self.code_weights[on.month]
        return self.codes[bisect.bisect(weights, rng.random() * weights[-1])]


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _visit_count(rng: random.Random, average: int, age: int) -> int:
    """At least one visit; children a little less often than adults, older patients more."""
    if average <= 0:
        return 0
    scale = 0.8 if age < 18 else 1.5 if age >= 65 else 1.0
    extra = max(average * scale - 1, 0)
    return 1 + (int(rng.expovariate(1 / extra)) if extra else 0)


def _care_team_for(
    patient_id: uuid.UUID, rng: random.Random, clinicians: list[Any], starts_on: datetime.date
) -> list[CareTeamMember]:
    first = 0 if rng.random() < FIRST_CLINICIAN_SHARE else 1
    chosen = [clinicians[first]]
    if rng.random() < SHARED_CARE_SHARE:
        chosen.append(clinicians[1 - first])
    reason = "shared care" if len(chosen) > 1 else "primary care"
    return [
        CareTeamMember(staff_id=c.pk, patient_id=patient_id, starts_on=starts_on, reason=reason)
        for c in chosen
    ]


def _patient_history(
    patient_id: uuid.UUID,
    birth_year: int,
    rng: random.Random,
    *,
    average: int,
    history: History,
    notes: list[str],
    clinicians: list[Any],
) -> tuple[list[ClinicalRecord], list[CareTeamMember]]:
    today = history.today
    # Never before the end of the birth year: the date of birth itself is encrypted.
    earliest = max(history.months[0], min(datetime.date(birth_year, 12, 31), today))
    count = _visit_count(rng, average, today.year - birth_year)
    dates = sorted(history.visit_date(rng, earliest) for _ in range(count))
    team = _care_team_for(patient_id, rng, clinicians, dates[0] if dates else earliest)
    own = [member.staff_id for member in team]
    others = [c.pk for c in clinicians if c.pk not in own] or own
    visits = []
    for day in dates:
        provider = rng.choice(own if rng.random() < OWN_CLINICIAN_SHARE else others)
        visits.append(
            ClinicalRecord(
                record_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                patient_id=patient_id,
                provider_id=provider,
                changed_by_id=provider,
                diagnosis_code=history.code(rng, day),
                notes=rng.choice(notes),
                visit_date=day,
            )
        )
    for visit in visits:
        _sign_if_old(visit, today)
    return visits, team


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


def _demo_patients(options: dict) -> list[tuple[uuid.UUID, int]]:
    patients = PatientIdentity.objects.using(OWNER).order_by("patient_id")
    wanted: Iterable[Any] | None = options.get("demo_patient_ids")
    if wanted:
        patients = patients.filter(pk__in=list(wanted))
    return list(patients.values_list("patient_id", "birth_year"))


def seed_visits_and_care_teams(command: Any, staff: dict, options: dict) -> dict[str, float]:
    clinicians = [staff["clinician"], staff["clinician2"]]
    seed = int(options.get("seed") or 0)
    average = int(options.get("visits_per_patient") or 0)
    history = History(timezone.localdate(), demo_codes())

    patients = _demo_patients(options)
    with_visits = set(
        ClinicalRecord.objects.using(OWNER).values_list("patient_id", flat=True).distinct()
    )
    with_team = set(
        CareTeamMember.objects.using(OWNER).values_list("patient_id", flat=True).distinct()
    )
    todo = [(pid, year) for pid, year in patients if pid not in with_visits or pid not in with_team]
    notes = note_pool(seed) if todo else []
    progress = _Progress(command, len(todo))
    for batch in _chunks(todo, PATIENTS_PER_BATCH):
        records: list[ClinicalRecord] = []
        members: list[CareTeamMember] = []
        for patient_id, birth_year in batch:
            rng = random.Random(f"{seed}:{patient_id}")
            visits, team = _patient_history(
                patient_id,
                birth_year,
                rng,
                average=average,
                history=history,
                notes=notes,
                clinicians=clinicians,
            )
            if patient_id not in with_visits:
                records.extend(visits)
            if patient_id not in with_team:
                members.extend(team)
        with transaction.atomic(using=OWNER):
            copy_models(ClinicalRecord, records, using=OWNER)
            copy_models(CareTeamMember, members, using=OWNER)
        progress.advance(len(batch), len(records) + len(members))
    rate = progress.finish()
    return {"patients": len(todo), "rows": progress.rows, "rows_per_second": rate}


@register
def seed_demo_records(command: Any, staff: dict, options: dict) -> None:
    seed_visits_and_care_teams(command, staff, options)
