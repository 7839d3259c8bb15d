"""Database rights, row-level security and write checks of `amendment_entries`: the accepted
amendment of a chart entry or a demographic field (164.526(c)(1)), linked to the item.

- Clinician: reads the entries of the patients it may see (care team or break the glass, the
  chart's own condition), and writes one as itself, for a chart entry, while the request for
  it is open and routed to it.
- Privacy officer: reads and writes the entries of demographic fields (it decides those); the
  chart entries' amendments are clinical text it does not read (the export reads them through
  `access_request_amendment_entries`, rights/db_record_set.py, for an open access request).
- Front desk: reads the entries of demographic fields (it maintains the demographics and edits
  the field once an amendment is accepted); never a chart entry's.
- Analyst, administrator: nothing. Nobody UPDATE or DELETE: an entry is append-only.

Write check (trigger `amendment_entries_check_write`): written by the verified caller, now,
for an open request of the same patient about the same item that the caller decides (routed to
it, or a demographic field and the caller the privacy officer), one entry per request.
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.db_checks import NOW_WINDOW, REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import (
    add_role_grants,
    register_step,
)
from clinic.role_gate import gates_itself
from clinic.roles import grant
from clinic.staff_identity import STAFF_ID
from records.db_grants import clinician_may_see_per_row
from rights.amendment_models import DEMOGRAPHIC
from rights.db_policies import OWNER_MAINTAINS, ensure_table_security
from rights.models import OPEN

TABLE = "amendment_entries"
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
DEMOGRAPHIC_ROW = f"target_kind = '{DEMOGRAPHIC}'"
# The clinical record's condition, through its function (records/db_grants.py): asked per row,
# and a patient has few entries or none, where the condition written out is three sub-plans
# PostgreSQL initialises on every statement that reads the table (every clinician's patient
# page asks whether an entry exists, rights/patient_facts.py): 0.70 ms against 0.35 ms for
# that statement (docs/benchmarks.md).
MAY_SEE = clinician_may_see_per_row(f"{TABLE}.patient_id")

POLICIES = {
    "clinician_reads": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} USING ({MAY_SEE})",
    "clinician_amends": f"AS PERMISSIVE FOR INSERT TO {CLINICIAN} "
    f"WITH CHECK ({MAY_SEE} AND NOT {DEMOGRAPHIC_ROW} AND author_id = {STAFF_ID})",
    "privacy_officer_reads": f"AS PERMISSIVE FOR SELECT TO {PRIVACY_OFFICER} "
    f"USING ({DEMOGRAPHIC_ROW})",
    "privacy_officer_amends": f"AS PERMISSIVE FOR INSERT TO {PRIVACY_OFFICER} "
    f"WITH CHECK ({DEMOGRAPHIC_ROW} AND author_id = {STAFF_ID})",
    "front_desk_reads": f"AS PERMISSIVE FOR SELECT TO {FRONT_DESK} USING ({DEMOGRAPHIC_ROW})",
    "owner_maintains": OWNER_MAINTAINS,
}

add_role_grants(CLINICIAN, [grant("SELECT, INSERT", TABLE)])
add_role_grants(PRIVACY_OFFICER, [grant("SELECT, INSERT", TABLE)])
add_role_grants(FRONT_DESK, [grant("SELECT", TABLE)])
gates_itself(TABLE)

# The request is read under the caller's own row-level security: a clinician sees only the
# requests routed to it, so "routed to the caller" is asked twice over.
CHECK_FUNCTION = check_function(
    "amendment_entries_check_write",
    f"""
    IF NEW.author_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'an amendment entry is written by the caller';
    END IF;
    IF NEW.created_at NOT BETWEEN {NOW_WINDOW} THEN
        {REFUSE} 'an amendment entry is written now';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM amendment_requests r
        WHERE r.amendment_id = NEW.amendment_id AND r.outcome = '{OPEN}'
          AND r.patient_id = NEW.patient_id
          AND (r.target_kind, r.problem_id, r.allergy_id, r.medication_id, r.vitals_id,
               r.demographic_field)
              IS NOT DISTINCT FROM (NEW.target_kind, NEW.problem_id, NEW.allergy_id,
               NEW.medication_id, NEW.vitals_id, NEW.demographic_field)
          AND ((r.target_kind = '{DEMOGRAPHIC}' AND clinic_staff_role() = '{PRIVACY_OFFICER}')
               OR (r.target_kind <> '{DEMOGRAPHIC}' AND r.routed_to_id = clinic_staff_id()))
    ) THEN
        {REFUSE} 'an amendment entry answers an open request for that item, decided by the caller';
    END IF;""",  # noqa: S608 (constants only)
)


@register_step(order=10)
def amendment_entry_security(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_table_security(connection, TABLE, POLICIES)


@register_step(order=42)
def amendment_entry_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "amendment_entries_check_write",
        CHECK_FUNCTION,
        TABLE,
        "amendment_entries_check_write",
        "INSERT",
    )
