"""Database rights and row-level security on the chart (docs/chart.md, role matrix).

- Clinician: reads, records and changes chart items of the patients whose visits they may see
  (records/db_grants.py `clinician_may_see`: on the care team today, or under an active
  break-the-glass grant of theirs), and only as themselves; reads those patients' history.
  No DELETE anywhere: a wrong entry is marked entered in error, and the history keeps it all.
- Front desk, analyst, privacy officer, administrator: nothing (no grant, so raw SQL is refused
  before any policy is asked).
- `chart_history` is written only by the database's own trigger (SECURITY DEFINER, the owner's;
  chart/db_checks.py): no role may INSERT, UPDATE or DELETE it.
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.provisioning import (
    add_role_grants,
    ensure_policies,
    ensure_row_level_security,
    register_step,
)
from clinic.role_gate import gate_policies, gates_itself
from clinic.roles import grant
from clinic.staff_identity import STAFF_ID
from records.db_grants import clinician_may_see_one_patient, clinician_may_see_per_row

# Item table -> the columns a clinician may change (never the patient, the author, the
# creation time or the id).
ITEM_UPDATES = {
    "chart_allergies": ("substance", "reaction", "severity", "status", "updated_at"),
    "chart_problems": ("icd10_code", "onset_date", "status", "resolved_on", "note", "updated_at"),
    "chart_vital_signs": ("entered_in_error", "updated_at"),
    "chart_medications": (
        "name",
        "dose",
        "route",
        "frequency",
        "start_date",
        "stop_date",
        "status",
        "updated_at",
    ),
    # Whoever states "no known allergies" (or withdraws it) signs the statement.
    "chart_allergy_reviews": ("no_known_allergies", "recorded_by_id", "updated_at"),
}
HISTORY = "chart_history"
TABLES = (*ITEM_UPDATES, HISTORY)


# Tables with at most one row per patient ask the rule through its function (per row), not
# written out: the written-out rule is three sub-plans PostgreSQL initialises on every statement
# that reads the table, and the "no known allergies" flag is read with the patient on every
# chart page (chart/access.py). The item tables keep it written out, in the form planned once
# for one patient's rows (records/db_grants.py `clinician_may_see_one_patient`): a patient's
# vital signs are many rows, and the function per row cost more there (docs/benchmarks.md).
ONE_ROW_PER_PATIENT = frozenset({"chart_allergy_reviews"})


def item_policies(table: str) -> dict[str, str]:
    if table in ONE_ROW_PER_PATIENT:
        may_see = clinician_may_see_per_row(f"{table}.patient_id")
    else:
        may_see = clinician_may_see_one_patient(f"{table}.patient_id")
    return {
        "clinician_reads": f"AS PERMISSIVE FOR SELECT TO clinic_clinician USING ({may_see})",
        "clinician_records": f"AS PERMISSIVE FOR INSERT TO clinic_clinician "
        f"WITH CHECK ({may_see} AND recorded_by_id = {STAFF_ID})",
        "clinician_changes": f"AS PERMISSIVE FOR UPDATE TO clinic_clinician "
        f"USING ({may_see}) WITH CHECK ({may_see})",
        "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
    }


HISTORY_POLICIES = {
    "clinician_reads": "AS PERMISSIVE FOR SELECT TO clinic_clinician "
    f"USING ({clinician_may_see_one_patient(f'{HISTORY}.patient_id')})",
    # The history trigger's function runs as the owner.
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

add_role_grants(
    "clinic_clinician",
    [
        *(
            g
            for table, columns in ITEM_UPDATES.items()
            for g in (grant("SELECT, INSERT", table), grant("UPDATE", table, *columns))
        ),
        grant("SELECT", HISTORY),
    ],
)
gates_itself(*TABLES)


@register_step(order=10)
def chart_security(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for table in ITEM_UPDATES:
        done += ensure_row_level_security(connection, table)
        done += ensure_policies(connection, table, {**item_policies(table), **gate_policies(table)})
    done += ensure_row_level_security(connection, HISTORY)
    done += ensure_policies(connection, HISTORY, {**HISTORY_POLICIES, **gate_policies(HISTORY)})
    return done
