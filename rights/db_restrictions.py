"""Database rights, row-level security and write checks of `restrictions` (164.522(a)).

- Privacy officer: reads every restriction, records one (decided by the caller, today, received
  no later than today; the out-of-pocket one agreed, never refused) and ends an agreed one
  (today, by the caller, saying how; the clinic alone cannot end the out-of-pocket one). It may
  update only the ending's columns; what was asked and decided never changes; no DELETE.
- Front desk: reads the active (agreed, not ended) restrictions of any patient, and only the
  columns the banner needs (id, patient, category, decision, end) — not the detail, which may
  name a person or a clinical fact; the privacy officer is asked for it.
- Clinician: the same columns, of the active restrictions of the patients it may see (care team
  or break the glass: `clinic_clinician_may_see`, the clinical record's own condition).
- Analyst, administrator: nothing.
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.clinic_time import CLINIC_TODAY
from clinic.db_checks import NOW_WINDOW, REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import (
    add_role_grants,
    register_step,
)
from clinic.role_gate import gates_itself
from clinic.roles import grant
from records.db_grants import clinician_may_see_per_row
from rights.db_policies import OWNER_MAINTAINS, PRIVACY_OFFICER_KEEPS, ensure_table_security
from rights.restriction_models import AGREED, CLINIC_INFORMED, REFUSED, SELF_PAY, SHARED_COLUMNS

TABLE = "restrictions"
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
NOW = NOW_WINDOW
ENDING = ("ended_on", "ended_by_id", "ended_how")
ACTIVE = f"decision = '{AGREED}' AND ended_on IS NULL"

POLICIES = {
    "privacy_officer_keeps": PRIVACY_OFFICER_KEEPS,
    "front_desk_reads_active": f"AS PERMISSIVE FOR SELECT TO {FRONT_DESK} USING ({ACTIVE})",
    "clinician_reads_active": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} "
    f"USING ({ACTIVE} AND {clinician_may_see_per_row('patient_id')})",
    "owner_maintains": OWNER_MAINTAINS,
}

add_role_grants(PRIVACY_OFFICER, [grant("SELECT, INSERT", TABLE), grant("UPDATE", TABLE, *ENDING)])
add_role_grants(FRONT_DESK, [grant("SELECT", TABLE, *SHARED_COLUMNS)])
add_role_grants(CLINICIAN, [grant("SELECT", TABLE, *SHARED_COLUMNS)])
gates_itself(TABLE)

CHECK_FUNCTION = check_function(
    "restrictions_check_write",
    f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.decided_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'a restriction is decided by the caller';
        END IF;
        IF NEW.recorded_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'a restriction is recorded now';
        END IF;
        IF NEW.received_on > {CLINIC_TODAY} THEN
            {REFUSE} 'a restriction request is not received in the future';
        END IF;
        IF NEW.decided_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'a restriction is decided today';
        END IF;
        IF NEW.category = '{SELF_PAY}' AND NEW.decision IS DISTINCT FROM '{AGREED}' THEN
            {REFUSE} 'the out-of-pocket restriction cannot be refused (164.522(a)(1)(vi))';
        END IF;
        IF NEW.decision NOT IN ('{AGREED}', '{REFUSED}') THEN
            {REFUSE} 'a restriction is agreed or refused';
        END IF;
        IF NEW.ended_on IS NOT NULL OR NEW.ended_by_id IS NOT NULL OR NEW.ended_how <> '' THEN
            {REFUSE} 'a new restriction has not ended';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.ended_on IS NOT NULL THEN
        {REFUSE} 'an ended restriction never changes';
    END IF;
    IF (NEW.restriction_id, NEW.patient_id, NEW.received_on, NEW.category, NEW.detail,
        NEW.decision, NEW.decided_on, NEW.decided_by_id, NEW.recorded_at)
       IS DISTINCT FROM (OLD.restriction_id, OLD.patient_id, OLD.received_on, OLD.category,
        OLD.detail, OLD.decision, OLD.decided_on, OLD.decided_by_id, OLD.recorded_at) THEN
        {REFUSE} 'what was asked and decided never changes';
    END IF;
    IF OLD.decision <> '{AGREED}' THEN
        {REFUSE} 'only an agreed restriction ends';
    END IF;
    IF NEW.ended_on IS DISTINCT FROM {CLINIC_TODAY}
       OR NEW.ended_by_id IS DISTINCT FROM clinic_staff_id() OR NEW.ended_how = '' THEN
        {REFUSE} 'a restriction ends today, by the caller, saying how';
    END IF;
    IF NEW.ended_how = '{CLINIC_INFORMED}' AND OLD.category = '{SELF_PAY}' THEN
        {REFUSE} 'the clinic cannot end the out-of-pocket restriction on its own';
    END IF;""",  # noqa: S608 (constants only)
)


@register_step(order=12)
def restriction_security(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_table_security(connection, TABLE, POLICIES)


@register_step(order=43)
def restriction_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "restrictions_check_write",
        CHECK_FUNCTION,
        TABLE,
        "restrictions_check_write",
        "INSERT OR UPDATE",
    )
