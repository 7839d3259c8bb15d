"""Synthetic bulk data for the analytics benchmark (`manage.py generate_analytics_data`).

The honest fast route, documented in docs/benchmarks.md:
- Patients are built in Python and loaded with COPY. Every identifying value (first and last
  name, date of birth, MRN) is encrypted per row with the real keys and AAD, so every row
  decrypts like one the app wrote; the blind indexes are the real HMACs. Blank optional fields
  (SSN, address, phone, email) reuse one ciphertext of "" per column: still decryptable, and
  equal ciphertexts only reveal what is true (they are all blank).
- Visits are made in PostgreSQL with generate_series (in batches), picking patients, providers
  (the clinicians, plus synthetic providers when there are few), codes (a fixed sample of
  billable ICD-10-CM codes, skewed so some are common) and dates (the last three years). They
  have no notes: one ciphertext of "" is reused for the whole bulk set.
All names are obviously synthetic ("Synthetic", "Bulkperson000123"); MRNs start with 99.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connections, transaction

from clinic import roles
from clinic.blind_index import blind_index, last_name_dob_index
from clinic.encryption import encrypt_value
from patients.models import luhn_check_digit
from records.icd10 import _leaf_codes

STATES = ["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "WA", "MA", "AZ", "CO"]
CODE_SAMPLE = 400
BATCH = 1_000_000
VISIT_DAYS = 3 * 365
OWNER = "owner"
Progress = Callable[[str], None]


def _luhn_mrn(number: int) -> str:
    # Synthetic bulk MRNs start with 99, apart from the demo generator's range.
    body = f"99{number:07d}"
    return f"{body}{luhn_check_digit(body)}"


def ensure_providers(count: int) -> list[int]:
    group = Group.objects.using(OWNER).get_or_create(name=roles.CLINICIAN)[0]
    ids = list(
        User.objects.using(OWNER).filter(groups=group).order_by("pk").values_list("pk", flat=True)
    )
    unusable = make_password(None)
    for number in range(len(ids) + 1, count + 1):
        user, _created = User.objects.db_manager(OWNER).get_or_create(
            username=f"bulk-provider-{number:03d}",
            # Unusable from the first INSERT: the database refuses an empty password.
            defaults={
                "first_name": "Bulk",
                "last_name": f"Provider {number:03d}",
                "password": unusable,
            },
        )
        user.password = unusable
        user.save(using=OWNER)
        user.groups.add(group)
        ids.append(user.pk)
    return ids


def _patient_rows(count: int, start: int, seed: int):
    rng = random.Random(seed)
    blank = {
        column: encrypt_value("", f"patient_identities.{column}")
        for column in ("ssn", "address", "phone", "email")
    }
    now = datetime.datetime.now(datetime.UTC)
    today = datetime.date.today()
    for number in range(start, start + count):
        last_name = f"Bulkperson{number:07d}"
        age_days = rng.randint(0, 100 * 365)
        dob = today - datetime.timedelta(days=age_days)
        mrn = _luhn_mrn(number)
        yield (
            encrypt_value("Synthetic", "patient_identities.first_name"),
            encrypt_value(last_name, "patient_identities.last_name"),
            encrypt_value(dob.isoformat(), "patient_identities.date_of_birth"),
            blank["ssn"],
            blank["address"],
            blank["phone"],
            blank["email"],
            encrypt_value(mrn, "patient_identities.mrn"),
            dob.year,
            rng.choice(STATES),
            now,
            now,
            last_name_dob_index(last_name, dob),
            blind_index("mrn", mrn),
        )


PATIENT_COLUMNS = (
    "patient_id, first_name, last_name, date_of_birth, ssn, address, phone, email, mrn, "
    "birth_year, state, created_at, updated_at, last_name_dob_bidx, mrn_bidx"
)


def generate_patients(count: int, seed: int = 2026) -> None:
    with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patient_identities WHERE mrn_bidx IS NOT NULL")
        start = cursor.fetchone()[0] + 1
        copy = f"COPY patient_identities ({PATIENT_COLUMNS}) FROM STDIN"  # noqa: S608
        with cursor.copy(copy) as writer:
            for row in _patient_rows(count, start, seed):
                writer.write_row((_uuid(), *row))


def _uuid():
    import uuid

    return uuid.uuid4()


def code_sample(seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    return rng.sample(_leaf_codes(), CODE_SAMPLE)


def generate_visits(
    records: int, providers: list[int], seed: int = 2026, progress: Progress | None = None
) -> None:
    say = progress or (lambda _m: None)
    codes = code_sample(seed)
    empty_notes = encrypt_value("", "clinical_records.notes")
    done = 0
    with connections[OWNER].cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [((seed % 1000) / 1000.0)])
    while done < records:
        size = min(BATCH, records - done)
        with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bulk_patients ON COMMIT DROP AS "
                "SELECT row_number() OVER () AS n, patient_id FROM patient_identities"
            )
            cursor.execute("SELECT count(*) FROM bulk_patients")
            patients = cursor.fetchone()[0]
            cursor.execute("CREATE UNIQUE INDEX ON bulk_patients (n)")
            cursor.execute(
                """
                INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code,
                    notes, visit_date, version, created_at, updated_at)
                SELECT gen_random_uuid(), p.patient_id,
                       (%s::integer[])[1 + floor(random() * %s)::integer],
                       (%s::text[])[1 + floor(power(random(), 3) * %s)::integer],
                       %s, clinic_today() - floor(random() * %s)::integer, 1, now(), now()
                FROM (SELECT 1 + floor(random() * %s)::bigint AS n
                      FROM generate_series(1, %s)) pick
                JOIN bulk_patients p ON p.n = pick.n
                """,
                [
                    providers,
                    len(providers),
                    codes,
                    len(codes),
                    empty_notes,
                    VISIT_DAYS,
                    patients,
                    size,
                ],
            )
        done += size
        say(f"  visits: {done:,} / {records:,}")
    with connections[OWNER].cursor() as cursor:
        cursor.execute("ANALYZE clinical_records")
        cursor.execute("ANALYZE patient_identities")


def generate(
    records: int,
    patients: int | None = None,
    providers: int = 25,
    seed: int = 2026,
    progress: Progress | None = None,
) -> float:
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    provider_ids = ensure_providers(providers)
    patient_count = patients if patients is not None else max(100, records // 20)
    say(f"patients: generating {patient_count:,} (encrypted per row) ...")
    generate_patients(patient_count, seed=seed)
    say(f"patients: done in {time.perf_counter() - started:.1f} s")
    say(f"visits: generating {records:,} ...")
    generate_visits(records, provider_ids, seed=seed, progress=say)
    return time.perf_counter() - started
