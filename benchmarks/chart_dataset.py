"""Chart data for every benchmark patient (benchmark-only code, issue 18): problems, allergies,
"no known allergies" statements, medications and vital signs, made in SQL a table at a time.

- How many items a patient has follows a hash of their id (0-3 problems, 0-2 allergies with a
  "no known allergies" statement for a third of those without, 0-4 medications, 3-6 sets of
  vital signs over two years), so that the charts are uneven as real ones are.
- Free text comes from small pools of obviously fake values ("Fakecillin", "Benchdrug 12"),
  each encrypted once in Python with the real key and the column's own binding (as the bulk
  visits share one ciphertext of ""): every stored value is real ciphertext that the page
  decrypts, only equal plaintexts share a ciphertext here.
- The same allergies and medications go, in plaintext, into `bench_plain_allergies` and
  `bench_plain_medications` (scratch database only): what the chart summary's baseline reads.
- Written as the cluster superuser with session_replication_role = replica (as the bulk
  visits), which skips the foreign-key, write-check and history triggers: every id is taken from
  the tables it refers to, every value is within the checks, and the benchmark's items have no
  history rows (the summary does not read the history).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connections

from clinic.encryption import encrypt_value

Progress = Callable[[str], None]
OWNER = "owner"

SUBSTANCES = [f"Fake{stem}" for stem in ("cillin", "azole", "mycin", "profen", "nut", "dust")]
REACTIONS = ["Fake hives", "Fake rash", "Fake wheeze", "Fake swelling", ""]
SEVERITIES = ["mild", "moderate", "severe", ""]
DRUGS = [f"Benchdrug {n} mg tablet" for n in range(1, 41)]
DOSES = ["1 tablet", "2 tablets", "half a tablet", "5 mL"]
FREQUENCIES = ["once a day", "twice a day", "at night", "as needed"]
ROUTES = ["oral", "oral", "oral", "inhaled", "topical", "subcutaneous"]
PROBLEM_NOTES = ["", "Fake problem note: stable.", "Fake problem note: follow up."]

# The patient's care-team clinician records their items (as on a real chart).
PATIENTS = """
CREATE TEMP TABLE bench_chart_patients AS
SELECT p.patient_id, min(ct.staff_id) AS staff_id, abs(hashtext(p.patient_id::text)::bigint) AS h
FROM patient_identities p JOIN care_team ct ON ct.patient_id = p.patient_id
GROUP BY p.patient_id
"""

PLAIN_ALLERGIES = """
CREATE TABLE bench_plain_allergies AS
SELECT gen_random_uuid() AS allergy_id, p.patient_id, p.staff_id AS recorded_by_id,
       1 + floor(random() * %(ns)s)::int AS substance_i,
       1 + floor(random() * %(nr)s)::int AS reaction_i,
       (%(severities)s::text[])[1 + floor(random() * %(nv)s)::int] AS severity,
       CASE WHEN random() < 0.9 THEN 'active' ELSE 'resolved' END AS status,
       now() - make_interval(days => floor(random() * 2000)::int) AS created_at
FROM bench_chart_patients p CROSS JOIN LATERAL generate_series(1, p.h %% 3) AS n
"""
PLAIN_ALLERGIES_TEXT = """
ALTER TABLE bench_plain_allergies ADD COLUMN substance text, ADD COLUMN reaction text;
UPDATE bench_plain_allergies SET substance = (%(substances)s::text[])[substance_i],
                                 reaction = (%(reactions)s::text[])[reaction_i];
CREATE INDEX bench_plain_allergies_patient ON bench_plain_allergies (patient_id, status);
"""
ALLERGIES = """
INSERT INTO chart_allergies (allergy_id, patient_id, recorded_by_id, substance, reaction,
    severity, status, created_at, updated_at)
SELECT allergy_id, patient_id, recorded_by_id, (%(substances)s::text[])[substance_i],
       (%(reactions)s::text[])[reaction_i], severity, status, created_at, created_at
FROM bench_plain_allergies
"""
# A third of the patients without an allergy were asked and said none.
REVIEWS = """
INSERT INTO chart_allergy_reviews (patient_id, no_known_allergies, recorded_by_id, updated_at)
SELECT p.patient_id, true, p.staff_id, now() - interval '30 days'
FROM bench_chart_patients p WHERE p.h %% 3 = 0 AND p.h %% 9 < 3
"""
PROBLEMS = """
INSERT INTO chart_problems (problem_id, patient_id, recorded_by_id, icd10_code, onset_date,
    status, resolved_on, note, created_at, updated_at)
SELECT gen_random_uuid(), patient_id, staff_id, code, onset,
       CASE WHEN resolved THEN 'resolved' ELSE 'active' END,
       CASE WHEN resolved THEN onset + 30 END, note, now(), now()
FROM (
    SELECT p.patient_id, p.staff_id,
           (%(codes)s::text[])[1 + floor(power(random(), 3) * %(nc)s)::int] AS code,
           clinic_today() - 60 - floor(random() * 3000)::int AS onset,
           random() < 0.3 AS resolved,
           (%(notes)s::text[])[1 + floor(random() * %(nn)s)::int] AS note
    FROM bench_chart_patients p CROSS JOIN LATERAL generate_series(1, p.h / 3 %% 4) AS n
) items
"""
PLAIN_MEDICATIONS = """
CREATE TABLE bench_plain_medications AS
SELECT gen_random_uuid() AS medication_id, p.patient_id, p.staff_id AS recorded_by_id,
       1 + floor(random() * %(nd)s)::int AS name_i, 1 + floor(random() * %(no)s)::int AS dose_i,
       (%(routes)s::text[])[1 + floor(random() * %(nr)s)::int] AS route,
       1 + floor(random() * %(nf)s)::int AS frequency_i,
       clinic_today() - 30 - floor(random() * 2000)::int AS start_date,
       CASE WHEN random() < 0.75 THEN 'active' ELSE 'completed' END AS status,
       now() - make_interval(days => floor(random() * 2000)::int) AS created_at
FROM bench_chart_patients p CROSS JOIN LATERAL generate_series(1, p.h / 12 %% 5) AS n
"""
PLAIN_MEDICATIONS_TEXT = """
ALTER TABLE bench_plain_medications ADD COLUMN name text, ADD COLUMN dose text,
    ADD COLUMN frequency text, ADD COLUMN stop_date date;
UPDATE bench_plain_medications SET name = (%(drugs)s::text[])[name_i],
    dose = (%(doses)s::text[])[dose_i], frequency = (%(frequencies)s::text[])[frequency_i],
    stop_date = CASE WHEN status = 'completed' THEN start_date + 14 END;
CREATE INDEX bench_plain_medications_patient ON bench_plain_medications (patient_id, status);
"""
MEDICATIONS = """
INSERT INTO chart_medications (medication_id, patient_id, recorded_by_id, name, dose, route,
    frequency, start_date, stop_date, status, created_at, updated_at)
SELECT medication_id, patient_id, recorded_by_id, (%(drugs)s::text[])[name_i],
       (%(doses)s::text[])[dose_i], route, (%(frequencies)s::text[])[frequency_i], start_date,
       stop_date, status, created_at, created_at
FROM bench_plain_medications
"""
VITALS = """
INSERT INTO chart_vital_signs (vitals_id, patient_id, recorded_by_id, taken_at, systolic,
    diastolic, heart_rate, temperature, respiratory_rate, spo2, weight, height,
    entered_in_error, created_at, updated_at)
SELECT gen_random_uuid(), p.patient_id, p.staff_id, taken, 105 + floor(random() * 50)::int,
       60 + floor(random() * 30)::int, 55 + floor(random() * 45)::int,
       round((36.1 + random() * 1.5)::numeric, 1), 12 + floor(random() * 8)::int,
       94 + floor(random() * 7)::int, round((50 + random() * 60)::numeric, 1),
       round((150 + random() * 45)::numeric, 1), false, taken, taken
FROM bench_chart_patients p
CROSS JOIN LATERAL generate_series(1, 3 + p.h / 60 %% 4) AS n
CROSS JOIN LATERAL (SELECT now() - make_interval(days => (n * 120 + p.h %% 90)::int) AS taken) t
"""
TABLES = (
    "chart_allergies",
    "chart_allergy_reviews",
    "chart_problems",
    "chart_medications",
    "chart_vital_signs",
    "bench_plain_allergies",
    "bench_plain_medications",
)


def _encrypted(values: list[str], aad: str) -> list[str]:
    return [encrypt_value(value, aad) for value in values]


def generate(say: Progress, seed: int = 2026) -> dict[str, int]:
    """Chart items for every patient; returns the row count of each table."""
    from analytics.generate import code_sample
    from localdb import cluster

    codes = code_sample(seed)
    params = {
        "substances": SUBSTANCES,
        "reactions": REACTIONS,
        "severities": SEVERITIES,
        "ns": len(SUBSTANCES),
        "nr": len(REACTIONS),
        "nv": len(SEVERITIES),
        "codes": codes,
        "nc": len(codes),
        "notes": _encrypted(PROBLEM_NOTES, "chart_problems.note"),
        "nn": len(PROBLEM_NOTES),
        "drugs": DRUGS,
        "doses": DOSES,
        "frequencies": FREQUENCIES,
        "nd": len(DRUGS),
        "no": len(DOSES),
        "nf": len(FREQUENCIES),
        "routes": ROUTES,
    }
    secure = {
        **params,
        "substances": _encrypted(SUBSTANCES, "chart_allergies.substance"),
        "reactions": _encrypted(REACTIONS, "chart_allergies.reaction"),
        "drugs": _encrypted(DRUGS, "chart_medications.name"),
        "doses": _encrypted(DOSES, "chart_medications.dose"),
        "frequencies": _encrypted(FREQUENCIES, "chart_medications.frequency"),
    }
    plain_medications = {**params, "nr": len(ROUTES)}
    steps = [
        ("patients and their clinicians", PATIENTS, {}),
        ("allergies (plaintext copy)", PLAIN_ALLERGIES, params),
        ("allergies (plaintext text)", PLAIN_ALLERGIES_TEXT, params),
        ("allergies", ALLERGIES, secure),
        ("no known allergies", REVIEWS, {}),
        ("problems", PROBLEMS, secure),
        ("medications (plaintext copy)", PLAIN_MEDICATIONS, plain_medications),
        ("medications (plaintext text)", PLAIN_MEDICATIONS_TEXT, params),
        ("medications", MEDICATIONS, secure),
        ("vital signs", VITALS, {}),
    ]
    dbname = connections[OWNER].settings_dict["NAME"]
    started = time.perf_counter()
    with cluster.superuser_connect(dbname) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SELECT setseed(%s)", [(seed % 100) / 100])
        for label, statement, values in steps:
            for part in statement.split(";\n"):
                if part.strip():
                    conn.execute(part, values)
            say(f"  chart {label}: done, elapsed {time.perf_counter() - started:.0f} s")
        conn.execute("ALTER TABLE bench_plain_allergies OWNER TO clinic_owner")
        conn.execute("ALTER TABLE bench_plain_medications OWNER TO clinic_owner")
        conn.execute("RESET session_replication_role")
        counts = {}
        for table in TABLES:
            conn.execute(f"ANALYZE {table}")
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return counts
