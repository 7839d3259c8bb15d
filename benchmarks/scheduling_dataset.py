"""A year of appointments for the scheduling benchmarks (issue 17 "Speed"; benchmark-only code).

- Patients: `distinct` people encrypted per row with the real keys (benchmarks/dataset.py, with
  the plaintext comparison table), then cloned in SQL up to `patients` rows: each clone a new
  UUID with the same ciphertexts (the AAD binds a value to its table and column, not to a
  row, so every clone decrypts for real) and an MRN blind index of its own (it is unique).
- 50 clinicians (dataset.ensure_staff), weekdays 08:00-12:00 and 13:00-17:00 clinic time, a
  15-minute "Bench follow-up"; 25 appointments a day each on the quarter hours (7 of the 32
  quarters left free, a different 7 each day), from half a year back to half a year ahead:
  past days done (1 in 20 a no-show, 1 in 20 cancelled), coming days booked. Each appointment
  a different patient while there are enough, so neither exclusion constraint refuses a row.
Each booking carries schedule version 0, as if the write check had checked it against the
generated hours (it lies in them; no schedule write follows, so 0 stays current:
scheduling/db_schedule_versions.py). Loaded as the cluster superuser with INSERT ... SELECT
(session_replication_role = replica
skips the foreign-key and write-check triggers; the exclusion constraints still hold).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from benchmarks import dataset
from clinic import roles
from clinic.encryption import encrypt_value

CLINICIANS = 50
PER_DAY = 25
QUARTERS = 32  # 08:00-12:00 and 13:00-17:00
TYPE_NAME = "Bench follow-up"
MINUTES = 15

CLONE_MAP = """
CREATE TEMP TABLE clone_map AS
SELECT gen_random_uuid() AS new_id, p.patient_id AS src_id
FROM patient_identities p CROSS JOIN generate_series(1, %(copies)s) c
LIMIT %(limit)s
"""
CLONE_COLUMNS = (
    "first_name, last_name, date_of_birth, ssn, address, phone, email, mrn, birth_year, state, "
    "created_at, updated_at, last_name_dob_bidx, ssn_bidx, phone_bidx, administrative_sex, "
    "gender_identity"
)

APPOINTMENTS = """
WITH clin AS (
    SELECT ordinality - 1 AS c, id FROM unnest(%(clinicians)s::integer[]) WITH ORDINALITY id
), days AS (
    SELECT d::date AS day, row_number() OVER (ORDER BY d) AS n
    FROM generate_series(clinic_today() - 182, clinic_today() + 182, interval '1 day') d
    WHERE extract(isodow FROM d) < 6
), placed AS (
    SELECT clin.id AS clinician_id, days.day, q,
           row_number() OVER (ORDER BY days.day, q, clin.c) - 1 AS k,
           ((days.day + time '08:00' + q * interval '15 minutes'
             + CASE WHEN q >= 16 THEN interval '1 hour' ELSE interval '0' END)
            AT TIME ZONE %(zone)s) AS starts_at
    FROM clin CROSS JOIN days CROSS JOIN generate_series(0, 31) q
    WHERE (7 * q + 3 * clin.c + days.n) %% 32 >= 7
)
INSERT INTO appointments (appointment_id, patient_id, clinician_id, appointment_type_id,
    starts_at, ends_at, status, arrived_at, in_room_at, seen_at, done_at, no_show_at,
    cancelled_at, cancel_reason, override_reason, visit_reason, booked_by_id, created_at,
    updated_at, schedule_version)
SELECT gen_random_uuid(), np.patient_id, placed.clinician_id, %(type)s,
       placed.starts_at, placed.starts_at + interval '15 minutes', s.status,
       CASE WHEN s.status = 'done' THEN placed.starts_at - interval '5 minutes' END,
       CASE WHEN s.status = 'done' THEN placed.starts_at END,
       CASE WHEN s.status = 'done' THEN placed.starts_at + interval '10 minutes' END,
       CASE WHEN s.status = 'done' THEN placed.starts_at + interval '15 minutes' END,
       CASE WHEN s.status = 'no_show' THEN placed.starts_at + interval '20 minutes' END,
       CASE WHEN s.status = 'cancelled' THEN placed.starts_at - interval '1 day' END,
       CASE WHEN s.status = 'cancelled' THEN 'patient_request' ELSE '' END, '',
       %(reason)s, %(desk)s, placed.starts_at - interval '14 days',
       placed.starts_at - interval '1 day', 0
FROM placed
JOIN bench_numbered np ON np.n = placed.k %% %(patients)s
CROSS JOIN LATERAL (SELECT CASE
    WHEN placed.day >= clinic_today() THEN 'booked'
    WHEN placed.k %% 20 = 0 THEN 'no_show'
    WHEN placed.k %% 20 = 1 THEN 'cancelled'
    ELSE 'done' END AS status) s
"""


@dataclass(frozen=True)
class Schedule:
    front_desk_id: int
    clinician_ids: list[int]
    type_id: int
    patients: int
    appointments: int
    seconds: dict[str, float]


def generate(patients: int, distinct: int, say) -> Schedule:
    from localdb import cluster

    seconds: dict[str, float] = {}
    front_desk_id, _clinician_id, providers = dataset.ensure_staff(CLINICIANS)
    clinicians = providers[:CLINICIANS]
    started = time.perf_counter()
    distinct = min(distinct, patients)
    say(f"patients: {distinct:,} encrypted per row, cloned to {patients:,}")
    dataset.generate_patients(distinct, say)
    seconds["patients encrypted"] = time.perf_counter() - started
    dbname = connections["owner"].settings_dict["NAME"]
    started = time.perf_counter()
    with cluster.superuser_connect(dbname) as conn:
        conn.execute("SET session_replication_role = replica")
        if patients > distinct:
            copies = -(-(patients - distinct) // distinct)
            conn.execute(CLONE_MAP, {"copies": copies, "limit": patients - distinct})
            _clone(conn, "patient_identities", CLONE_COLUMNS, ", mrn_bidx",
                   ", substr(md5(m.new_id::text), 1, 32)")  # fmt: skip
            plain = dataset.PLAIN_COLUMNS.replace("patient_id, ", "")
            _clone(conn, "bench_plain_patients", plain, "", "")
        conn.execute(
            "CREATE TABLE bench_numbered AS SELECT (row_number() OVER (ORDER BY patient_id)) - 1"
            " AS n, patient_id FROM patient_identities"
        )
        conn.execute("CREATE UNIQUE INDEX ON bench_numbered (n)")
        conn.execute(f"ALTER TABLE bench_numbered OWNER TO {roles.OWNER_ROLE}")
        seconds["patients cloned"] = time.perf_counter() - started
        say(f"  cloned in {seconds['patients cloned']:.0f} s")
        started = time.perf_counter()
        type_id = conn.execute(
            "INSERT INTO appointment_types (name, default_minutes, active) VALUES (%s, %s, true)"
            " RETURNING id",
            [TYPE_NAME, MINUTES],
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO working_hours (clinician_id, weekday, starts_at, ends_at)"
            " SELECT c, d, s.starts_at, s.ends_at FROM unnest(%s::integer[]) c"
            " CROSS JOIN generate_series(0, 4) d CROSS JOIN (VALUES (time '08:00', time '12:00'),"
            " (time '13:00', time '17:00')) s(starts_at, ends_at)",
            [clinicians],
        )
        conn.execute(
            APPOINTMENTS,
            {"clinicians": clinicians, "zone": settings.TIME_ZONE, "type": type_id,
             "reason": encrypt_value("Fake reason: bench visit", "appointments.visit_reason"),
             "desk": front_desk_id, "patients": patients},
        )  # fmt: skip
        count = conn.execute("SELECT count(*) FROM appointments").fetchone()[0]
        seconds["appointments"] = time.perf_counter() - started
        say(f"  {count:,} appointments in {seconds['appointments']:.0f} s")
        started = time.perf_counter()
        conn.execute("SET session_replication_role = origin")
        for table in ("patient_identities", "bench_plain_patients", "appointments", "access_log"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        seconds["vacuum"] = time.perf_counter() - started
    return Schedule(front_desk_id, clinicians, type_id, patients, count, seconds)


def _clone(conn, table: str, columns: str, extra: str, extra_value: str) -> None:
    source = ", ".join(f"p.{column.strip()}" for column in columns.split(","))
    conn.execute(
        f"INSERT INTO {table} (patient_id, {columns}{extra}) SELECT m.new_id, {source}"  # noqa: S608
        f"{extra_value} FROM clone_map m JOIN {table} p ON p.patient_id = m.src_id"
    )


def free_patients(count: int, appointments: int, patients: int) -> list:
    """Patients with no appointment (numbered past the last one booked), for new bookings."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT patient_id FROM bench_numbered WHERE n >= %s ORDER BY n LIMIT %s",
            [min(appointments, patients - count), count],
        )
        return [row[0] for row in cursor.fetchall()]
