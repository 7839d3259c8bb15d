"""Database rights and row-level security of visit note drafts (records/drafts.py).

Only clinicians touch drafts, and only their own: every command is limited to rows whose
staff_id is the request's verified staff id, and a draft is written only for a patient the
clinician may see now (care team or break-the-glass grant). The role gate applies as on every
group-granted table.
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
from records.db_grants import clinician_may_see

TABLE = "visit_note_drafts"
MAY_SEE = clinician_may_see(f"{TABLE}.patient_id")

DRAFT_POLICIES = {
    "clinician_reads_own_drafts": f"AS PERMISSIVE FOR SELECT TO clinic_clinician "
    f"USING (staff_id = {STAFF_ID})",
    "clinician_deletes_own_drafts": f"AS PERMISSIVE FOR DELETE TO clinic_clinician "
    f"USING (staff_id = {STAFF_ID})",
    "clinician_writes_own_drafts": f"AS PERMISSIVE FOR INSERT TO clinic_clinician "
    f"WITH CHECK (staff_id = {STAFF_ID} AND {MAY_SEE})",
    "clinician_updates_own_drafts": f"AS PERMISSIVE FOR UPDATE TO clinic_clinician "
    f"USING (staff_id = {STAFF_ID}) WITH CHECK (staff_id = {STAFF_ID} AND {MAY_SEE})",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

add_role_grants("clinic_clinician", [grant("SELECT, INSERT, UPDATE, DELETE", TABLE)])
gates_itself(TABLE)


@register_step(order=11)
def draft_security(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_row_level_security(connection, TABLE)
    done += ensure_policies(connection, TABLE, {**DRAFT_POLICIES, **gate_policies(TABLE)})
    return done
