"""Database rights, row-level security and write checks of `confidential_communications`
(164.522(b)).

- Privacy officer: reads every one, records one (by the caller, now, requested no later than
  today, in force) and ends one (once, today, by the caller). It may update only the ending's
  columns; no DELETE. One in force per patient (a partial unique index).
- Front desk: reads the one in force of any patient, with the alternative address and phone (it
  contacts the patient there, in place of the default contact).
- Clinician: of the patients it may see (care team or break the glass), only that one is in
  force and whether it replaces the default (id, patient, flag, end): never the contact itself.
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

TABLE = "confidential_communications"
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
NOW = NOW_WINDOW
IN_FORCE = "ended_on IS NULL"
FLAG_COLUMNS = ("communication_id", "patient_id", "use_instead", "ended_on")
CONTACT_COLUMNS = (*FLAG_COLUMNS, "alt_address", "alt_phone")

POLICIES = {
    "privacy_officer_keeps": PRIVACY_OFFICER_KEEPS,
    "front_desk_reads_in_force": f"AS PERMISSIVE FOR SELECT TO {FRONT_DESK} USING ({IN_FORCE})",
    "clinician_reads_in_force": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} "
    f"USING ({IN_FORCE} AND {clinician_may_see_per_row('patient_id')})",
    "owner_maintains": OWNER_MAINTAINS,
}

add_role_grants(
    PRIVACY_OFFICER,
    [grant("SELECT, INSERT", TABLE), grant("UPDATE", TABLE, "ended_on", "ended_by_id")],
)
add_role_grants(FRONT_DESK, [grant("SELECT", TABLE, *CONTACT_COLUMNS)])
add_role_grants(CLINICIAN, [grant("SELECT", TABLE, *FLAG_COLUMNS)])
gates_itself(TABLE)

CHECK_FUNCTION = check_function(
    "confidential_communications_check_write",
    f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'confidential communications are recorded by the caller';
        END IF;
        IF NEW.recorded_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'confidential communications are recorded now';
        END IF;
        IF NEW.requested_on > {CLINIC_TODAY} THEN
            {REFUSE} 'confidential communications are not requested in the future';
        END IF;
        IF NEW.ended_on IS NOT NULL OR NEW.ended_by_id IS NOT NULL THEN
            {REFUSE} 'new confidential communications are in force';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.ended_on IS NOT NULL THEN
        {REFUSE} 'ended confidential communications never change';
    END IF;
    IF (NEW.communication_id, NEW.patient_id, NEW.requested_on, NEW.alt_address, NEW.alt_phone,
        NEW.use_instead, NEW.recorded_by_id, NEW.recorded_at)
       IS DISTINCT FROM (OLD.communication_id, OLD.patient_id, OLD.requested_on,
        OLD.alt_address, OLD.alt_phone, OLD.use_instead, OLD.recorded_by_id, OLD.recorded_at)
    THEN
        {REFUSE} 'what was asked never changes';
    END IF;
    IF NEW.ended_on IS DISTINCT FROM {CLINIC_TODAY}
       OR NEW.ended_by_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'confidential communications end today, by the caller';
    END IF;""",  # noqa: S608 (constants only)
)


@register_step(order=12)
def communication_security(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_table_security(connection, TABLE, POLICIES)


@register_step(order=43)
def communication_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "confidential_communications_check_write",
        CHECK_FUNCTION,
        TABLE,
        "confidential_communications_check_write",
        "INSERT OR UPDATE",
    )
