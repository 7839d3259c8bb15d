"""Demo patients for `manage.py seed_demo` (clinic/demo_hooks.py): synthetic, deterministic, fast.

* Synthetic and obviously so: Faker first names and addresses, last names ending in "-Demo";
  SSNs in the 900-999 area (never issued as an SSN), phone numbers in the fictional 555-01xx
  block, emails at example.test.
* Shaped like a real clinic's panel, so the analyst's dashboards show real shapes: ages from an
  age pyramid (few over 90), nearly everyone from the clinic's own state and its neighbours, and
  a few from far away, whose small counts the dashboards suppress.
* Deterministic for a seed: the same `--seed` gives the same patients (ids included), so the
  records demo can build visits on them reproducibly.
* Idempotent: when at least `--patients` patients exist, nothing is created; otherwise the
  missing ones are added (the first ones of the sequence are regenerated and skipped).
* Fast: values are encrypted and indexed in Python and written with COPY (clinic/bulk_copy.py)
  through the owner connection, one transaction per batch of BATCH_SIZE rows.
"""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from clinic.bulk_copy import copy_models
from clinic.demo_hooks import register
from patients.forms import US_STATES
from patients.models import PatientIdentity, mrn_from_number

OWNER = "owner"
BATCH_SIZE = 1000
POOL_SIZE = 2000
# Ages are drawn relative to a fixed day, so a seed gives the same patients on any date.
AGE_REFERENCE = date(2025, 6, 30)
# (youngest, oldest, share of patients): a primary-care panel, few over 90.
AGE_PYRAMID = [
    (0, 17, 0.19),
    (18, 34, 0.21),
    (35, 49, 0.19),
    (50, 64, 0.20),
    (65, 74, 0.11),
    (75, 89, 0.087),
    (90, 99, 0.013),
]
AREA_CODES = ["617", "781", "508", "978", "603", "401"]
# The clinic's state, its neighbours, and a few patients from afar (their counts stay small).
STATE_SHARES = {
    "MA": 0.80,
    "NH": 0.09,
    "RI": 0.05,
    "CT": 0.025,
    "NY": 0.015,
    "ME": 0.01,
    "FL": 0.01,
    "VT": 0.0025,
    "CA": 0.0025,
}
STATE_CODES = [code for code, _name in US_STATES]
assert set(STATE_SHARES) <= set(STATE_CODES)  # noqa: S101  (a typo here is a bug, not input)
# Multipliers coprime to 10**8: index -> number is a bijection, so SSNs and MRNs never repeat.
SSN_STEP = 48_271_171
MRN_STEP = 69_069_277


def _demo_ssn(index: int, seed: int) -> str:
    digits = f"{(index * SSN_STEP + seed) % 10**8:08d}"
    return f"9{digits[:2]}-{digits[2:4]}-{digits[4:]}"


@functools.lru_cache(maxsize=4)
def _faker_pools(seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """Faker's weighted draws cost ~0.5 ms a patient; drawing from pools made once is ~50x
    faster and still gives millions of name/address combinations."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return (
        [fake.first_name() for _ in range(POOL_SIZE)],
        [fake.last_name() for _ in range(POOL_SIZE)],
        [fake.street_address() for _ in range(POOL_SIZE)],
        [fake.city() for _ in range(POOL_SIZE // 4)],
    )


def demo_patients(count: int, seed: int) -> Iterator[PatientIdentity]:
    """The first `count` demo patients for `seed`, unsaved, derived fields filled in."""
    rng = random.Random(seed)
    firsts, lasts, streets, cities = _faker_pools(seed)
    bands = [(young, old) for young, old, _share in AGE_PYRAMID]
    band_weights = [share for _young, _old, share in AGE_PYRAMID]
    states, state_weights = list(STATE_SHARES), list(STATE_SHARES.values())
    for index in range(count):
        first, last = rng.choice(firsts), f"{rng.choice(lasts)}-Demo"
        local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
        young, old = rng.choices(bands, band_weights)[0]
        age_days = rng.randrange(young * 365, (old + 1) * 365 - 1)
        patient = PatientIdentity(
            patient_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            first_name=first,
            last_name=last,
            date_of_birth=AGE_REFERENCE - timedelta(days=age_days),
            ssn=_demo_ssn(index, seed),
            address=f"{rng.choice(streets)}, {rng.choice(cities)}",
            state=rng.choices(states, state_weights)[0],
            phone=f"{rng.choice(AREA_CODES)}-555-01{rng.randrange(100):02d}",
            email=f"{local}{index}@example.test",
            mrn=mrn_from_number((index * MRN_STEP + seed) % 10**8),
        )
        patient.refresh_derived_fields()
        yield patient


def create_demo_patients(count: int, seed: int, *, progress: Any = None) -> int:
    """Add demo patients until `count` exist; returns how many were created."""
    existing = PatientIdentity.objects.using(OWNER).count()
    if existing >= count:
        return 0
    started, shown_at, created = time.monotonic(), 0.0, 0
    batch: list[PatientIdentity] = []
    for index, patient in enumerate(demo_patients(count, seed)):
        if index < existing:
            continue
        batch.append(patient)
        if len(batch) == BATCH_SIZE or index == count - 1:
            with transaction.atomic(using=OWNER):
                # ignore_conflicts: an MRN drawn at random by a real registration may collide.
                copy_models(PatientIdentity, batch, using=OWNER, ignore_conflicts=True)
            created += len(batch)
            batch = []
            now = time.monotonic()
            if progress and (now - shown_at >= 1 or index == count - 1):
                shown_at = now
                rate = created / max(now - started, 1e-6)
                progress(f"  demo patients: {existing + created}/{count} ({rate:,.0f} rows/s)")
    return created


def demo_patient_ids(using: str = OWNER) -> list[uuid.UUID]:
    """Ids of the patients present (for the records demo), in a stable order."""
    return list(PatientIdentity.objects.using(using).order_by("pk").values_list("pk", flat=True))


@register
def seed_demo_patients(command: Any, staff: dict, options: dict) -> None:
    count, seed = int(options.get("patients", 3000)), int(options.get("seed", 2026))
    started = time.monotonic()
    created = create_demo_patients(count, seed, progress=command.stdout.write)
    if created:
        elapsed = time.monotonic() - started
        command.stdout.write(
            f"Demo patients: created {created} in {elapsed:.1f}s "
            f"({created / max(elapsed, 1e-6):,.0f} rows/s)."
        )
    else:
        command.stdout.write(f"Demo patients: {count} or more already present, none added.")
