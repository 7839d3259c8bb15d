"""Database objects and rights for analytics: rollups and views for the analyst role.

Everything the analyst reads is owned by `clinic_analytics_owner` (never the table owner, whose
rights bypass row-level security). The rollups hold raw counts and only their owner reads them:

- `analytics_visits_rollup`: visits per month x ICD-10-CM chapter x provider (materialized);
- `analytics_codes_rollup`: visits per month x code (materialized; top codes), and
  `analytics_provider_codes_rollup` per provider x month x code (top codes of one provider);
- `analytics_patients_rollup`: registered patients per age band x state (materialized, from the
  plaintext `birth_year` and `state` of patient_identities; no per-patient row);
- `clinical_records_analyst` (records/db_grants.py), the rollups' source.

The analyst role reads:
- the dashboards' tables, already suppressed, through `analytics_visit_panels(...)` and
  `analytics_patient_panels()` (analytics/db_suppression.py);
- `analytics_providers`: provider id and display name (staff names are not PHI);
- `analytics_visits_deidentified`: one row per visit reduced to Safe Harbor fields (year of
  visit, age in that year with 90+ collapsed, state, code, provider) for the CSV export;
- `analytics_icd10_chapters`, `analytics_refresh_log`: plain tables (no PHI), role-gated like
  every table (clinic/role_gate.py).
The two views are gated in their definition (views cannot carry row-level security): they show
rows only when the role in force is the request's verified role. The gate names no column, so it
is checked once before any row is read; the views are security barriers as well, so a gate that
depended on the row would still run before any function of the caller's query.

Unique indexes on the materialized views let `REFRESH MATERIALIZED VIEW CONCURRENTLY` run
without blocking readers (analytics/refresh.py).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

import records.db_grants  # noqa: F401  (its analyst view is declared first)
from analytics import appointment_rollups
from analytics.pseudonyms import PSEUDONYM_HEX_DIGITS, pseudonym_key_bytes
from clinic import roles
from clinic.clinic_time import CLINIC_TODAY
from clinic.provisioning import add_role_grants, ensure_key_table, register_step, register_view
from clinic.roles import grant
from clinic.staff_identity import ROLE_IN_FORCE_IS_VERIFIED, STAFF_ROLE

OWNER = roles.ANALYTICS_VIEW_OWNER
ANALYST = "clinic_analyst"

CHAPTERS_TABLE = "analytics_icd10_chapters"
REFRESH_LOG_TABLE = "analytics_refresh_log"
VISITS_ROLLUP = "analytics_visits_rollup"
CODES_ROLLUP = "analytics_codes_rollup"
PROVIDER_CODES_ROLLUP = "analytics_provider_codes_rollup"
PATIENTS_ROLLUP = "analytics_patients_rollup"
PROVIDERS_VIEW = "analytics_providers"
DEIDENTIFIED_VIEW = "analytics_visits_deidentified"

NORMALISED_CODE = "replace(upper(r.diagnosis_code), '.', '')"
VISIT_YEAR = "extract(year FROM r.visit_date)::integer"

# Age in whole years from the birth year alone (the full date of birth is encrypted).
AGE_BANDS = [
    (0, 17, "0-17"),
    (18, 34, "18-34"),
    (35, 49, "35-49"),
    (50, 64, "50-64"),
    (65, 74, "65-74"),
    (75, 89, "75-89"),
]
OVER_89 = "90+"
AGE_BAND_ORDER = [label for _lo, _hi, label in AGE_BANDS] + [OVER_89]


def age_band_sql(age: str) -> str:
    cases = " ".join(f"WHEN {age} <= {hi} THEN '{label}'" for _lo, hi, label in AGE_BANDS)
    return f"CASE WHEN {age} IS NULL OR {age} < 0 THEN 'unknown' {cases} ELSE '{OVER_89}' END"


VISITS_ROLLUP_SQL = f"""
SELECT date_trunc('month', r.visit_date)::date AS month,
       coalesce(c.chapter, '') AS chapter,
       r.provider_id,
       count(*)::bigint AS visits
FROM clinical_records_analyst r
LEFT JOIN {CHAPTERS_TABLE} c ON c.code = {NORMALISED_CODE}
GROUP BY 1, 2, 3
"""

CODES_ROLLUP_SQL = f"""
SELECT date_trunc('month', r.visit_date)::date AS month,
       {NORMALISED_CODE} AS diagnosis_code,
       coalesce(c.chapter, '') AS chapter,
       count(*)::bigint AS visits
FROM clinical_records_analyst r
LEFT JOIN {CHAPTERS_TABLE} c ON c.code = {NORMALISED_CODE}
GROUP BY 1, 2, 3
"""

# Only read with a provider filter (one provider's slice through the index), so the
# unfiltered top codes never scan provider x code x month.
PROVIDER_CODES_ROLLUP_SQL = f"""
SELECT r.provider_id,
       date_trunc('month', r.visit_date)::date AS month,
       {NORMALISED_CODE} AS diagnosis_code,
       coalesce(c.chapter, '') AS chapter,
       count(*)::bigint AS visits
FROM clinical_records_analyst r
LEFT JOIN {CHAPTERS_TABLE} c ON c.code = {NORMALISED_CODE}
GROUP BY 1, 2, 3, 4
"""

_AGE_NOW = f"(extract(year FROM {CLINIC_TODAY})::integer - p.birth_year)"
PATIENTS_ROLLUP_SQL = f"""
SELECT {age_band_sql(_AGE_NOW)} AS age_band,
       coalesce(nullif(p.state, ''), '') AS state,
       count(*)::bigint AS patients
FROM patient_identities p
GROUP BY 1, 2
"""

# The role gate of a view: rows only for a request whose verified role is the role in force.
VIEW_GATE = ROLE_IN_FORCE_IS_VERIFIED

PROVIDERS_SQL = """
SELECT u.id AS provider_id,
       coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''),
                'Provider ' || u.id) AS display_name
FROM auth_user u
WHERE EXISTS (
    SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
    WHERE ug.user_id = u.id AND g.name = 'Clinician'
)
"""
PROVIDERS_VIEW_SQL = f"{PROVIDERS_SQL} AND {VIEW_GATE}"

_AGE_AT_VISIT = f"({VISIT_YEAR} - p.birth_year)"
# The export's patient key is a keyed pseudonym computed here, so no analyst relation carries a
# key shared with another one (clinical_records_analyst has the real patient_id): HMAC-SHA256 of
# the id's 16 bytes under PSEUDONYM_KEY, first PSEUDONYM_HEX_DIGITS hex digits (the same value
# analytics/export.py `pseudonym` computes). The key table is readable by the view's owner only.
PSEUDONYM_KEY_TABLE = "analytics_pseudonym_key"
DEIDENTIFIED_VIEW_SQL = f"""
SELECT left(encode(hmac(uuid_send(r.patient_id), k.key, 'sha256'), 'hex'),
            {PSEUDONYM_HEX_DIGITS}) AS patient_pseudonym,
       {VISIT_YEAR} AS visit_year,
       CASE WHEN {_AGE_AT_VISIT} IS NULL OR {_AGE_AT_VISIT} < 0 THEN ''
            WHEN {_AGE_AT_VISIT} >= 90 THEN '{OVER_89}'
            ELSE {_AGE_AT_VISIT}::text END AS age_in_visit_year,
       coalesce(p.state, '') AS state,
       {NORMALISED_CODE} AS diagnosis_code,
       coalesce(c.chapter, '') AS chapter,
       r.provider_id
FROM clinical_records_analyst r
JOIN patient_identities p ON p.patient_id = r.patient_id
CROSS JOIN {PSEUDONYM_KEY_TABLE} k
LEFT JOIN {CHAPTERS_TABLE} c ON c.code = {NORMALISED_CODE}
WHERE {VIEW_GATE}
"""

# Unique indexes (needed by REFRESH ... CONCURRENTLY) and the indexes the dashboards filter on.
ROLLUP_INDEXES: dict[str, list[tuple[str, str, bool]]] = {
    VISITS_ROLLUP: [
        ("analytics_visits_rollup_key", "month, chapter, provider_id", True),
        ("analytics_visits_rollup_provider", "provider_id, month", False),
    ],
    CODES_ROLLUP: [("analytics_codes_rollup_key", "month, diagnosis_code", True)],
    PROVIDER_CODES_ROLLUP: [
        ("analytics_provider_codes_rollup_key", "provider_id, month, diagnosis_code", True)
    ],
    PATIENTS_ROLLUP: [("analytics_patients_rollup_key", "age_band, state", True)],
}
ROLLUP_INDEXES.update(appointment_rollups.INDEXES)
MATERIALIZED_VIEWS = list(ROLLUP_INDEXES)

add_role_grants(
    OWNER,
    [
        grant("SELECT", CHAPTERS_TABLE),
        grant("SELECT", PSEUDONYM_KEY_TABLE),
        grant("SELECT", "patient_identities", "patient_id", "birth_year", "state"),
        grant("SELECT", "auth_user", "id", "first_name", "last_name"),
        grant("SELECT", "auth_user_groups", "user_id", "group_id"),
        grant("SELECT", "auth_group", "id", "name"),
    ],
)
add_role_grants(
    ANALYST,
    [
        grant("SELECT", CHAPTERS_TABLE),
        grant("SELECT", REFRESH_LOG_TABLE),
        grant("SELECT", PROVIDERS_VIEW),
        grant("SELECT", DEIDENTIFIED_VIEW),
    ],
)

register_view(VISITS_ROLLUP, VISITS_ROLLUP_SQL, OWNER, materialized=True)
register_view(CODES_ROLLUP, CODES_ROLLUP_SQL, OWNER, materialized=True)
register_view(PROVIDER_CODES_ROLLUP, PROVIDER_CODES_ROLLUP_SQL, OWNER, materialized=True)
register_view(PATIENTS_ROLLUP, PATIENTS_ROLLUP_SQL, OWNER, materialized=True)
register_view(PROVIDERS_VIEW, PROVIDERS_VIEW_SQL, OWNER, barrier=True)
register_view(DEIDENTIFIED_VIEW, DEIDENTIFIED_VIEW_SQL, OWNER, barrier=True)
add_role_grants(
    OWNER,
    [
        grant("SELECT", table, *columns)
        for table, columns in appointment_rollups.OWNER_READS.items()
    ],
)
for _name, _query in (
    (appointment_rollups.APPOINTMENTS_ROLLUP, appointment_rollups.APPOINTMENTS_ROLLUP_SQL),
    (appointment_rollups.AVAILABILITY_ROLLUP, appointment_rollups.AVAILABILITY_ROLLUP_SQL),
):
    register_view(_name, _query, OWNER, materialized=True)

# What every analyst table function shares (analytics/db_suppression.py and
# appointment_panels.py): its rows, its gate (nothing unless the request's verified role is the
# analyst's), and how it runs (as its owner, the rollups' owner).
PANEL_COLUMNS = "panel text, place integer, key text, shown bigint, status text"
PANEL_GATE = f"IF {STAFF_ROLE} IS DISTINCT FROM '{ANALYST}' THEN RETURN; END IF;"
PANEL_DEFINER = "STABLE SECURITY DEFINER SET search_path = pg_catalog, public"


@register_step(order=50, after_views=True)
def rollup_indexes(connection: BaseDatabaseWrapper) -> list[str]:
    """Create missing indexes on the rollups (a changed view is re-created without them)."""
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)",
            [MATERIALIZED_VIEWS],
        )
        existing = {row[0] for row in cursor.fetchall()}
        for view, indexes in ROLLUP_INDEXES.items():
            for name, columns, unique in indexes:
                if name in existing:
                    continue
                statement = sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
                    sql.SQL("UNIQUE " if unique else ""),
                    sql.Identifier(name),
                    sql.Identifier(view),
                    sql.SQL(columns),
                )
                cursor.execute(
                    sql.SQL("SET LOCAL ROLE {}")
                    .format(sql.Identifier(OWNER))
                    .as_string(cursor.connection)
                )
                text = statement.as_string(cursor.connection)
                cursor.execute(text)
                cursor.execute("RESET ROLE")
                done.append(text)
    return done


@register_step(order=50)
def pseudonym_key(connection: BaseDatabaseWrapper) -> list[str]:
    """The key table (one row, equal to settings.PSEUDONYM_KEY), before the views that read it."""
    return ensure_key_table(connection, PSEUDONYM_KEY_TABLE, pseudonym_key_bytes())


@register_step(order=50)
def owner_may_use_temporary_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """REFRESH ... CONCURRENTLY builds its diff in a temporary table, as the view's owner. The
    database belongs to the audit owner: the bootstrap grants it (clinic/bootstrap.py
    DATABASE_RIGHTS); the owner login, which may not, only checks."""
    from clinic.bootstrap_needed import HINT, BootstrapNeeded

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", [OWNER]
        )
        if not cursor.fetchone()[0]:
            raise BootstrapNeeded(f"{OWNER} may not make temporary tables yet: {HINT}")
    return []
