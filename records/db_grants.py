"""Database rights and row-level security on the clinical side.

- Clinicians read and write `clinical_records` only for patients on their care team or under an
  active break-the-glass grant of theirs, and only as the provider of what they write.
- Front desk sees visit dates and providers: column grants, no diagnosis, no notes.
- Addenda to signed notes (`visit_addenda`, docs/notes.md): clinicians read and insert them under
  the same condition as the visits, as their author; no role may update or delete them.
- The privacy officer reads a patient's visits, notes included, only while an open access
  request (164.524) for that patient exists (the grant is rights/db_grants.py's).
- `clinical_records_analyst` (no notes) feeds the analytics rollups; the view is owned by
  `clinic_analytics_owner`, so it is subject to RLS like anyone (a view owned by the table owner
  would bypass it), has exactly the columns it shows, and only its owner reads it: analysts
  read suppressed tables and the de-identified visits (analytics/db_suppression.py).
- FORCE ROW LEVEL SECURITY: the owner is subject too, through an explicit policy of its own.
The verified staff id (clinic/staff_identity.py) sits in a sub-select so the planner evaluates it
once (an InitPlan), and the
policy's correlated EXISTS lookups use the covering (staff, patient) index (docs/benchmarks.md
compares this with the `patient_id IN (...)` and `= ANY (array)` forms).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.clinic_time import CLINIC_TODAY
from clinic.provisioning import (
    add_role_grants,
    ensure_function,
    ensure_functions,
    ensure_membership,
    ensure_policies,
    ensure_row_level_security,
    register_step,
    register_view,
)
from clinic.role_gate import gate_policies, gates_itself
from clinic.roles import grant
from clinic.staff_identity import STAFF_ID
from scheduling.care_team import booked_today, booked_today_patients


def active_grant(staff_id: str) -> str:
    """SQL: `bg` is a break-the-glass grant of the staff member `staff_id` (an SQL expression or
    a placeholder) in force now. The policy below and the banner (records/break_glass.py) ask it."""
    return (
        f"bg.staff_id = {staff_id}"
        " AND bg.ended_at IS NULL AND bg.starts_at <= now() AND bg.expires_at > now()"
    )


# The two halves of "the signed-in clinician's patient".
# Dates are the clinic's (clinic/clinic_time.py), not the database session's UTC date.
ACTIVE_CARE_TEAM = (
    f"ct.staff_id = {STAFF_ID} AND ct.starts_on <= {CLINIC_TODAY}"
    f" AND (ct.ends_on IS NULL OR ct.ends_on >= {CLINIC_TODAY})"
)
ACTIVE_GRANT = active_grant(STAFF_ID)


MAY_SEE_NAME = "clinic_clinician_may_see"


def clinician_may_see(patient_id_column: str) -> str:
    """The SQL condition "the signed-in clinician may see this patient's records": the patient in
    `patient_id_column` is on their care team today, or has a live appointment with them today
    (care team by appointment, scheduling/care_team.py), or is under an active break-the-glass
    grant of theirs.

    - The care team as a correlated EXISTS: the planner may probe the care-team index per row (a
      query touching a few rows, e.g. one patient's visits: an index-only probe of
      `care_team_staff_panel`) or hash the clinician's panel once (a wide scan). It plans both
      and keeps one, and PostgreSQL initialises both on every statement.
    - Today's appointments and the clinician's grants as `IN (...)`: a few rows, hashed once
      per statement, one plan each. As EXISTS they were planned twice too, and the plan not
      chosen was initialised on every statement with its own calls of the verified identity:
      pgaudit wrote 24 lines for one read of a patient's visits, 16 with this form, and the read
      took 0.21 against 0.19-0.20 ms, the panel list 0.64 against 0.61 ms (docs/benchmarks.md,
      "Each plan once").

    Measured alternative (docs/benchmarks.md): `patient_id = ANY (ARRAY(<panel>))` can drive an
    index scan from the panel, so a list over the whole table reads only the clinician's rows
    (0.74x the explicit query at 1M patients and 500 clinicians, where this form is 3.0x). But it
    builds the array on every query, and that cost grows with the panel: one patient's visits
    took 0.5 / 5 / 10 ms with 2,000 / 10,000 / 20,000 patients on the care team, against
    0.12-0.19 ms for this form whatever the panel. Big panels are the small clinics the product
    is for (two clinicians, 20,000 patients), and one patient's visits is the query behind the
    visit list, so the care team keeps this form."""
    return _may_see(on_care_team_today(patient_id_column), patient_id_column)


def clinician_may_see_one_patient(patient_id_column: str) -> str:
    """The same condition for tables read one patient at a time (the chart's items and their
    history): the care team's EXISTS ends in OFFSET 0, which keeps the planner from also
    planning it as a hash of the clinician's whole panel; it is probed per row through
    `care_team_staff_panel`, as it already was. One read of a patient's problems: 24 pgaudit
    lines written out as the visits' policy was, 13 in this form (docs/benchmarks.md). Same
    rows. A table listed across patients (the visits: the clinician's unsigned notes) keeps
    `clinician_may_see`, whose hashed panel is what makes such a list fast."""
    return _may_see(on_care_team_today(patient_id_column, probe_only=True), patient_id_column)


def _may_see(care_team: str, patient_id_column: str) -> str:
    return (
        f"({care_team}"
        f" OR {patient_id_column} IN ({booked_today_patients()})"
        f" OR {patient_id_column} IN ({own_grant_patients()}))"
    )


def clinician_may_see_per_row(patient_id_column: str) -> str:
    """The same condition through `clinic_clinician_may_see()` (MAY_SEE_FUNCTION below), called
    per row: for tables with few rows per patient, where the condition written out is three
    sub-plans PostgreSQL initialises on every statement that reads the table (restrictions,
    communications, amendments, the "no known allergies" flag; docs/benchmarks.md)."""
    return f"{MAY_SEE_NAME}({patient_id_column})"


def on_care_team_today(patient_id_column: str, *, probe_only: bool = False) -> str:
    """SQL: the patient is on the signed-in clinician's standing care team today. `probe_only`:
    ends the EXISTS in OFFSET 0, so that the planner never also plans it as a hash."""
    fence = " OFFSET 0" if probe_only else ""
    return (
        f"EXISTS (SELECT 1 FROM care_team ct WHERE {ACTIVE_CARE_TEAM}"
        f" AND ct.patient_id = {patient_id_column}{fence})"
    )


def own_grant_patients() -> str:
    """SQL: the patients under an active break-the-glass grant of the signed-in clinician, a
    sub-select of `bg.patient_id` (the same condition as `under_own_grant`, for `IN (...)`)."""
    return f"SELECT bg.patient_id FROM break_glass_grants bg WHERE {ACTIVE_GRANT}"  # noqa: S608


def under_own_grant(patient_id_column: str) -> str:
    """SQL: the patient is under an active break-the-glass grant of the signed-in clinician."""
    return (
        f"EXISTS (SELECT 1 FROM break_glass_grants bg WHERE {ACTIVE_GRANT}"
        f" AND bg.patient_id = {patient_id_column})"
    )


# The row-level security policy's condition (records/access.py asks the same one).
CLINICIAN_MAY_SEE = clinician_may_see("clinical_records.patient_id")

RECORD_POLICIES = {
    "clinician_reads_own_patients": f"AS PERMISSIVE FOR SELECT TO clinic_clinician "
    f"USING ({CLINICIAN_MAY_SEE})",
    "clinician_writes_own_patients": f"AS PERMISSIVE FOR INSERT TO clinic_clinician "
    f"WITH CHECK ({CLINICIAN_MAY_SEE} AND provider_id = {STAFF_ID})",
    "clinician_updates_own_patients": f"AS PERMISSIVE FOR UPDATE TO clinic_clinician "
    f"USING ({CLINICIAN_MAY_SEE}) WITH CHECK ({CLINICIAN_MAY_SEE})",
    "front_desk_sees_visits": "AS PERMISSIVE FOR SELECT TO clinic_front_desk USING (true)",
    "analytics_owner_reads": "AS PERMISSIVE FOR SELECT TO clinic_analytics_owner USING (true)",
    # The right of access (rights/db_grants.py grants the SELECT): a patient's visits, only
    # while an open access request for that patient exists.
    "privacy_officer_reads_for_access_request": "AS PERMISSIVE FOR SELECT "
    "TO clinic_privacy_officer USING (EXISTS (SELECT 1 FROM access_requests ar "
    "WHERE ar.patient_id = clinical_records.patient_id AND ar.outcome = 'open'))",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

# Addenda (docs/notes.md): read like the visits they follow; written by the caller only, for a
# patient they may see; append-only (no UPDATE or DELETE right, and a trigger, db_signing.py).
ADDENDUM_POLICIES = {
    "clinician_reads_addenda": f"AS PERMISSIVE FOR SELECT TO clinic_clinician "
    f"USING ({clinician_may_see('visit_addenda.patient_id')})",
    "clinician_adds_addenda": f"AS PERMISSIVE FOR INSERT TO clinic_clinician "
    f"WITH CHECK ({clinician_may_see('visit_addenda.patient_id')} AND author_id = {STAFF_ID})",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

BREAK_GLASS_POLICIES = {
    "clinician_own_grants": f"AS PERMISSIVE FOR ALL TO clinic_clinician "
    f"USING (staff_id = {STAFF_ID}) WITH CHECK (staff_id = {STAFF_ID})",
    "privacy_officer_reviews": "AS PERMISSIVE FOR ALL TO clinic_privacy_officer "
    "USING (true) WITH CHECK (true)",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

ANALYST_VIEW = "clinical_records_analyst"
ANALYST_VIEW_SQL = (
    "SELECT record_id, patient_id, provider_id, diagnosis_code, visit_date FROM clinical_records"
)

add_role_grants(
    "clinic_clinician",
    [
        grant("SELECT, INSERT, UPDATE", "clinical_records"),
        grant("SELECT", "care_team"),
        grant("SELECT, INSERT", "break_glass_grants"),
        grant("UPDATE", "break_glass_grants", "ended_at"),
        # Append-only: no UPDATE, no DELETE.
        grant("SELECT, INSERT", "visit_addenda"),
    ],
)
add_role_grants(
    "clinic_front_desk",
    [
        grant("SELECT", "clinical_records", "record_id", "patient_id", "provider_id", "visit_date"),
        grant("SELECT, INSERT, UPDATE", "care_team"),
    ],
)
add_role_grants(
    "clinic_privacy_officer",
    [
        grant("SELECT", "break_glass_grants"),
        grant("UPDATE", "break_glass_grants", "reviewed_at", "reviewed_by_id", "review_comment"),
        # Flags "charts viewed outside the care team" (privacy/selectors.py).
        grant("SELECT", "care_team"),
    ],
)
add_role_grants(
    roles.ANALYTICS_VIEW_OWNER,
    [
        grant(
            "SELECT",
            "clinical_records",
            "record_id",
            "patient_id",
            "provider_id",
            "diagnosis_code",
            "visit_date",
        ),
    ],
)


@register_step(order=10)
def records_security(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for table, policies in (
        ("clinical_records", RECORD_POLICIES),
        ("break_glass_grants", BREAK_GLASS_POLICIES),
        ("visit_addenda", ADDENDUM_POLICIES),
    ):
        done += ensure_row_level_security(connection, table)
        done += ensure_policies(connection, table, {**policies, **gate_policies(table)})
    done += ensure_membership(connection, roles.ANALYTICS_VIEW_OWNER, roles.OWNER_ROLE)
    done += _analytics_owner_may_create(connection)
    done += ensure_functions(connection, f"{MAY_SEE_NAME}(uuid)", [MAY_SEE_FUNCTION])
    done += ensure_function(
        connection, ACCESS_SIGNATURE, ACCESS_FUNCTION, [roles.GROUP_ROLES[roles.CLINICIAN]]
    )
    return done


# The same condition for other apps, which must not import this one (patients asks it before a
# clinician reveals an identifier; restrictions' and communications' policies call it per row).
# SECURITY INVOKER: the caller's own row-level security and role gate apply to the care team and
# grants it reads. PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined, and its
# body was planned again on every call (0.68 ms a statement); PL/pgSQL keeps the plan for the
# session (0.35 ms; docs/benchmarks.md, "Kept plans"), and PostgreSQL plans it again for another
# role, as any kept plan.
MAY_SEE_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {MAY_SEE_NAME}(p_patient_id uuid) RETURNS boolean "
    "LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS "
    f"$fn$ BEGIN RETURN {clinician_may_see('p_patient_id')}; END $fn$"
)


# The same three paths, told apart, for the chart (chart/access.py: may the clinician see the
# patient, and does it rest on break the glass alone, the banner's marker) and the
# break-the-glass page (no grant for a patient already open): 'care_team' (standing, or by a
# live appointment today), 'break_glass' (only an active grant of theirs) or NULL (none of the
# three: exactly where `clinician_may_see` is false). One function call instead of the three
# conditions written into the chart's statement and asked twice: the statement took 1.7 ms,
# 0.8 ms with the function (docs/benchmarks.md). SECURITY INVOKER, as the function above; only
# the clinician's role may call it.
ACCESS_NAME = "clinic_clinician_access"
ACCESS_SIGNATURE = f"{ACCESS_NAME}(uuid)"
CARE_TEAM_ACCESS = "care_team"
BREAK_GLASS_ACCESS = "break_glass"
ACCESS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {ACCESS_NAME}(p_patient_id uuid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF {on_care_team_today("p_patient_id")} OR {booked_today("p_patient_id")} THEN
        RETURN '{CARE_TEAM_ACCESS}';
    END IF;
    IF {under_own_grant("p_patient_id")} THEN
        RETURN '{BREAK_GLASS_ACCESS}';
    END IF;
    RETURN NULL;
END
$fn$"""

register_view(ANALYST_VIEW, ANALYST_VIEW_SQL, roles.ANALYTICS_VIEW_OWNER)
gates_itself("clinical_records", "break_glass_grants", "visit_addenda")


def _analytics_owner_may_create(connection: BaseDatabaseWrapper) -> list[str]:
    from psycopg import sql

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_schema_privilege(%s, 'public', 'CREATE')", [roles.ANALYTICS_VIEW_OWNER]
        )
        if cursor.fetchone()[0]:
            return []
        statement = (
            sql.SQL("GRANT CREATE ON SCHEMA public TO {}")
            .format(sql.Identifier(roles.ANALYTICS_VIEW_OWNER))
            .as_string(cursor.connection)
        )
        cursor.execute(statement)
        return [statement]


@register_step(order=11)
def records_refused_patient(connection: BaseDatabaseWrapper) -> list[str]:
    """Refusals of a visit or a grant by its id are tied to its patient (clinic/refused_patient)."""
    from clinic.refused_patient import ensure_refused_patient_function

    done = ensure_refused_patient_function(connection, "record")
    done += ensure_refused_patient_function(connection, "break_glass_grant")
    return done
