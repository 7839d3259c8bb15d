"""Clinic-scale synthetic data for the security-layer benchmarks (benchmark-only code).

- N patients, every identifier encrypted per row in Python with the real keys and AAD, the four
  blind indexes computed for real, loaded with COPY. The same people go, in plaintext, into
  `bench_plain_patients` (scratch database only): the table the baselines read.
- M visits: all but a sample made in SQL (analytics/generate.py, one ciphertext of "" for their
  empty notes); the sample gets real encrypted notes, loaded with COPY.
- A care team for every patient (one clinician each, ~2,000 patients per clinician), so
  row-level security has a realistic `care_team` to read.
All values are obviously fake: "Benchperson0000123", SSNs 9xx-xx-xxxx, phones 555-01xx,
e-mail @example.test.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connections, transaction

from clinic import roles
from clinic.blind_index import blind_index, last_name_dob_index
from clinic.encryption import encrypt_value
from patients.models import mrn_from_number

OWNER = "owner"
BATCH = 20_000
PATIENTS_PER_CLINICIAN = 2_000
FIRST_NAMES = ["Alex", "Sam", "Robin", "Jordan", "Casey", "Taylor", "Morgan", "Jamie"]
STATES = ["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "WA", "MA"]
PASSWORD = "bench-only-password-1"  # noqa: S105 (scratch database, dropped afterwards)
FRONT_DESK_USER = "bench-frontdesk"
CLINICIAN_USER = "bench-clinician"
Progress = Callable[[str], None]

PLAIN_TABLE = """
CREATE TABLE bench_plain_patients (
    patient_id uuid PRIMARY KEY, first_name text, last_name text, date_of_birth date,
    ssn text, address text, phone text, email text, mrn text, birth_year smallint, state text
)"""
PLAIN_INDEX = "CREATE INDEX bench_plain_name_dob ON bench_plain_patients (last_name, date_of_birth)"
PLAIN_COLUMNS = (
    "patient_id, first_name, last_name, date_of_birth, ssn, address, phone, email, mrn, "
    "birth_year, state"
)
SECURE_COLUMNS = (
    "patient_id, first_name, last_name, date_of_birth, ssn, address, phone, email, mrn, "
    "birth_year, state, created_at, updated_at, last_name_dob_bidx, ssn_bidx, mrn_bidx, "
    "phone_bidx, administrative_sex, gender_identity"
)


@dataclass(frozen=True)
class Dataset:
    patients: int
    records: int
    clinician_id: int
    front_desk_id: int
    seconds: dict[str, float]


def _person(number: int, rng: random.Random, today: datetime.date) -> tuple:
    dob = today - datetime.timedelta(days=rng.randint(0, 100 * 365))
    ssn = f"9{number // 1_000_000 % 100:02d}-{number // 10_000 % 100:02d}-{number % 10_000:04d}"
    phone = f"({200 + number % 800}) 555-01{number % 100:02d}"
    return (
        rng.choice(FIRST_NAMES),
        f"Benchperson{number:07d}",
        dob,
        ssn,
        f"{number} Example Street, Testville",
        phone,
        f"bench{number}@example.test",
        mrn_from_number(number),
        dob.year,
        rng.choice(STATES),
    )


def _encrypted(patient_id: uuid.UUID, person: tuple, now: datetime.datetime) -> tuple:
    first, last, dob, ssn, address, phone, email, mrn, year, state = person

    def enc(value: str, column: str) -> str:
        return encrypt_value(value, f"patient_identities.{column}")

    return (
        patient_id,
        enc(first, "first_name"),
        enc(last, "last_name"),
        enc(dob.isoformat(), "date_of_birth"),
        enc(ssn, "ssn"),
        enc(address, "address"),
        enc(phone, "phone"),
        enc(email, "email"),
        enc(mrn, "mrn"),
        year,
        state,
        now,
        now,
        last_name_dob_index(last, dob),
        blind_index("ssn", ssn),
        blind_index("mrn", mrn),
        blind_index("phone", phone),
        "unknown",
        enc("", "gender_identity"),
    )


def _rate_line(label: str, done: int, total: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else 0.0
    return (
        f"  {label}: {done:,} / {total:,}  {rate:,.0f}/s  elapsed {elapsed:.0f} s  eta {eta:.0f} s"
    )


def generate_patients(count: int, say: Progress, seed: int = 2026) -> None:
    rng = random.Random(seed)
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.UTC)
    started = time.perf_counter()
    with connections[OWNER].cursor() as cursor:
        cursor.execute(PLAIN_TABLE)
    for batch_start in range(1, count + 1, BATCH):
        secure, plain = [], []
        for number in range(batch_start, min(batch_start + BATCH, count + 1)):
            person = _person(number, rng, today)
            patient_id = uuid.uuid4()
            secure.append(_encrypted(patient_id, person, now))
            plain.append((patient_id, *person))
        with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
            sql_secure = f"COPY patient_identities ({SECURE_COLUMNS}) FROM STDIN"  # noqa: S608
            with cursor.copy(sql_secure) as copy:
                for row in secure:
                    copy.write_row(row)
            with cursor.copy(f"COPY bench_plain_patients ({PLAIN_COLUMNS}) FROM STDIN") as copy:
                for row in plain:
                    copy.write_row(row)
        say(_rate_line("patients", batch_start + len(secure) - 1, count, started))
    with connections[OWNER].cursor() as cursor:
        cursor.execute(PLAIN_INDEX)


def ensure_staff(clinicians: int) -> tuple[int, int, list[int]]:
    """The benchmark's front desk and clinician (usable password), plus providers."""
    from analytics.generate import ensure_providers

    password = make_password(PASSWORD)
    ids = []
    for username, group_name in (
        (FRONT_DESK_USER, roles.FRONT_DESK),
        (CLINICIAN_USER, roles.CLINICIAN),
    ):
        group = Group.objects.using(OWNER).get_or_create(name=group_name)[0]
        user = User.objects.db_manager(OWNER).create(
            username=username, first_name="Bench", last_name=group_name, password=password
        )
        user.groups.add(group)
        ids.append(user.pk)
    providers = ensure_providers(clinicians)
    assert providers[0] == ids[1], "the bench clinician must be the first provider"
    return ids[0], ids[1], providers


def assign_care_teams(providers: list[int]) -> None:
    with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO care_team (staff_id, patient_id, starts_on, ends_on, reason, created_at)
            SELECT (%s::integer[])[1 + (row_number() OVER () %% %s)], patient_id,
                   clinic_today() - 365, NULL, %s, now()
            FROM patient_identities
            """,
            # One ciphertext of "" for every bench assignment (the column is encrypted).
            [providers, len(providers), encrypt_value("", "care_team.reason")],
        )


def generate_noted_visits(count: int, providers: list[int], say: Progress, seed: int) -> None:
    """Visits with real encrypted notes, for a sample of the bench clinician's patients."""
    from analytics.generate import code_sample

    rng = random.Random(seed)
    codes = code_sample(seed)
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.UTC)
    with connections[OWNER].cursor() as cursor:
        cursor.execute(
            "SELECT patient_id FROM care_team WHERE staff_id = %s ORDER BY patient_id LIMIT 5000",
            [providers[0]],
        )
        patients = [row[0] for row in cursor.fetchall()]
    started = time.perf_counter()
    with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
        columns = (
            "record_id, patient_id, provider_id, diagnosis_code, notes, visit_date, version, "
            "created_at, updated_at"
        )
        # COPY cannot write through row-level security: stage, then INSERT ... SELECT.
        cursor.execute("CREATE TEMP TABLE bench_noted (LIKE clinical_records) ON COMMIT DROP")
        with cursor.copy(f"COPY bench_noted ({columns}) FROM STDIN") as copy:
            for number in range(count):
                note = f"Synthetic benchmark note {number}: follow-up in two weeks. " * 4
                copy.write_row(
                    (
                        uuid.uuid4(),
                        rng.choice(patients),
                        providers[0],
                        rng.choice(codes),
                        encrypt_value(note, "clinical_records.notes"),
                        today - datetime.timedelta(days=rng.randint(0, 3 * 365)),
                        1,
                        now,
                        now,
                    )
                )
        cursor.execute(
            f"INSERT INTO clinical_records ({columns}) SELECT {columns} FROM bench_noted"  # noqa: S608
        )
    say(_rate_line("visits with notes", count, count, started))


BULK_VISITS = """
INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code, notes,
    visit_date, version, created_at, updated_at)
SELECT gen_random_uuid(), p.patient_id,
       (%(providers)s::integer[])[1 + floor(random() * %(np)s)::int],
       (%(codes)s::text[])[1 + floor(power(random(), 3) * %(nc)s)::int], %(notes)s,
       clinic_today() - floor(random() * 1095)::int, 1, now(), now()
FROM (SELECT patient_id FROM patient_identities ORDER BY patient_id
      LIMIT %(limit)s OFFSET %(offset)s) p
CROSS JOIN generate_series(1, %(per_patient)s)
"""


def generate_bulk_visits(count: int, providers: list[int], say: Progress, seed: int) -> None:
    """Visits without notes, made in SQL: `count / patients` per patient, a batch of patients
    at a time. Run as the cluster superuser with session_replication_role = replica, which
    skips the foreign-key triggers (every id is picked from the tables it refers to)."""
    from analytics.generate import code_sample
    from localdb import cluster

    codes = code_sample(seed)
    empty_notes = encrypt_value("", "clinical_records.notes")
    dbname = connections[OWNER].settings_dict["NAME"]
    started = time.perf_counter()
    with cluster.superuser_connect(dbname) as conn:
        patients = conn.execute("SELECT count(*) FROM patient_identities").fetchone()[0]
        per_patient, remainder = divmod(count, patients)
        conn.execute("SET session_replication_role = replica")
        conn.execute("SELECT setseed(%s)", [(seed % 100) / 100])
        step = max(1, 1_000_000 // max(per_patient, 1))
        done = 0
        plan = (
            [
                (offset, min(step, patients - offset), per_patient)
                for offset in range(0, patients, step)
            ]
            if per_patient
            else []
        )
        plan += [(0, remainder, 1)] if remainder else []
        for offset, limit, each in plan:
            conn.execute(
                BULK_VISITS,
                {"providers": providers, "np": len(providers), "codes": codes,
                 "nc": len(codes), "notes": empty_notes, "limit": limit, "offset": offset,
                 "per_patient": each},
            )  # fmt: skip
            done += limit * each
            say(_rate_line("visits", done, count, started))


def generate(patients: int, records: int, say: Progress, seed: int = 2026) -> Dataset:
    seconds: dict[str, float] = {}
    clinicians = max(5, patients // PATIENTS_PER_CLINICIAN)
    front_desk_id, clinician_id, providers = ensure_staff(clinicians)

    started = time.perf_counter()
    say(f"patients: {patients:,} (encrypted per row, plus the plaintext comparison table)")
    generate_patients(patients, say, seed)
    seconds["patients"] = time.perf_counter() - started

    started = time.perf_counter()
    assign_care_teams(providers)
    seconds["care_team"] = time.perf_counter() - started

    noted = min(records // 100, 20_000)
    started = time.perf_counter()
    say(f"visits: {records:,} ({noted:,} with encrypted notes)")
    generate_noted_visits(noted, providers, say, seed)
    generate_bulk_visits(records - noted, providers, say, seed)
    seconds["records"] = time.perf_counter() - started

    started = time.perf_counter()
    with connections[OWNER].cursor() as cursor:
        # VACUUM sets care_team's visibility map, as autovacuum does on a live database, so the
        # row-level-security policy's panel lookup is the index-only scan it is in steady state.
        cursor.execute("VACUUM (ANALYZE) care_team")
        for table in ("bench_plain_patients", "patient_identities", "clinical_records"):
            cursor.execute(f"ANALYZE {table}")
    seconds["analyze"] = time.perf_counter() - started
    return Dataset(patients, records, clinician_id, front_desk_id, seconds)


def sample_patients(clinician_id: int, count: int, seed: int = 7) -> list[tuple]:
    """(patient_id, last_name, date_of_birth) of patients on the bench clinician's care team."""
    with connections[OWNER].cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 100) / 100])
        cursor.execute(
            """
            SELECT p.patient_id, p.last_name, p.date_of_birth FROM bench_plain_patients p
            JOIN care_team ct ON ct.patient_id = p.patient_id AND ct.staff_id = %s
            ORDER BY random() LIMIT %s
            """,
            [clinician_id, count],
        )
        return cursor.fetchall()
