"""Database rights, row-level security and write checks of `amendment_requests` (164.526).

- Privacy officer: reads every request, records one (as the caller, now, received no later than
  the clinic's today, due 60 days after, routed to the author of a signed note of that patient),
  extends it once, records the patient's statement of disagreement after a denial and the
  clinic's rebuttal after that. It holds no right on the decision columns.
- Clinician: reads the requests routed to them, and decides them (only the decision columns):
  as the caller, today, while open; accepting names an addendum to that note written by the
  caller (the amendment itself, appended: the note is never overwritten); denying names the
  ground (164.526(a)(2)) and a written reason. A decision never changes.
- Front desk, analyst, administrator: nothing. No DELETE for anyone.
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.clinic_time import CLINIC_TODAY
from clinic.db_checks import NOW_WINDOW, REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import (
    add_role_grants,
    ensure_functions,
    ensure_policies,
    ensure_row_level_security,
    register_step,
)
from clinic.role_gate import gate_policies, gates_itself
from clinic.roles import grant
from clinic.staff_identity import STAFF_ID
from rights.models import (
    ACCEPTED,
    AMENDMENT_DAYS,
    AMENDMENT_EXTENSION_DAYS,
    DENIED,
    OPEN,
)

TABLE = "amendment_requests"
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
NOW = NOW_WINDOW
OFFICER_STEPS = (
    "due_on",
    "extended_on",
    "extended_by_id",
    "extension_reason",
    "disagreement",
    "disagreement_on",
    "rebuttal",
    "rebuttal_on",
)
DECISION = (
    "outcome",
    "decided_on",
    "decided_by_id",
    "addendum_id",
    "notify",
    "denial_ground",
    "denial_reason",
)

POLICIES = {
    "privacy_officer_keeps": f"AS PERMISSIVE FOR ALL TO {PRIVACY_OFFICER} "
    "USING (true) WITH CHECK (true)",
    "clinician_reads_routed": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} "
    f"USING (routed_to_id = {STAFF_ID})",
    "clinician_decides_routed": f"AS PERMISSIVE FOR UPDATE TO {CLINICIAN} "
    f"USING (routed_to_id = {STAFF_ID}) WITH CHECK (routed_to_id = {STAFF_ID})",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}

add_role_grants(
    PRIVACY_OFFICER,
    [grant("SELECT, INSERT", TABLE), grant("UPDATE", TABLE, *OFFICER_STEPS)],
)
add_role_grants(CLINICIAN, [grant("SELECT", TABLE), grant("UPDATE", TABLE, *DECISION)])
gates_itself(TABLE)

# The author (signer) of a signed visit note of the patient, or NULL; and whether an addendum
# to that note was written by the given author. The callers may not read every visit or
# addendum (care team), so the owner's functions look, and answer only these questions.
AUTHOR_FUNCTION = f"""
CREATE OR REPLACE FUNCTION amendment_note_author(p_record uuid, p_patient uuid)
RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT r.signed_by_id FROM public.clinical_records r
WHERE r.record_id = p_record AND r.patient_id = p_patient AND r.signed_at IS NOT NULL
  AND clinic_staff_role() IN ('{PRIVACY_OFFICER}', '{CLINICIAN}')
$fn$"""  # noqa: S608 (constants only)

ADDENDUM_FUNCTION = f"""
CREATE OR REPLACE FUNCTION amendment_addendum_written(p_addendum uuid, p_record uuid)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT EXISTS (SELECT 1 FROM public.visit_addenda a
               WHERE a.addendum_id = p_addendum AND a.record_id = p_record
                 AND a.author_id = clinic_staff_id())
   AND clinic_staff_role() = '{CLINICIAN}'
$fn$"""  # noqa: S608 (constants only)

# The signed visits of a patient the privacy officer may name in a request: id, date and
# author only (no note, no diagnosis), for the verified privacy officer only.
VISITS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION amendable_visits(p_patient uuid)
RETURNS TABLE (record_id uuid, visit_date date, signed_by_id integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT r.record_id, r.visit_date, r.signed_by_id FROM public.clinical_records r
WHERE r.patient_id = p_patient AND r.signed_at IS NOT NULL
  AND clinic_staff_role() = '{PRIVACY_OFFICER}' AND clinic_staff_id() IS NOT NULL
ORDER BY r.visit_date DESC
$fn$"""  # noqa: S608 (constants only)

CHECK_FUNCTION = check_function(
    "amendment_requests_check_write",
    f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an amendment request is recorded by the caller';
        END IF;
        IF NEW.recorded_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'an amendment request is recorded now';
        END IF;
        IF NEW.received_on > {CLINIC_TODAY} THEN
            {REFUSE} 'an amendment request is not received in the future';
        END IF;
        IF NEW.due_on IS DISTINCT FROM NEW.received_on + {AMENDMENT_DAYS} THEN
            {REFUSE} 'an amendment request is due {AMENDMENT_DAYS} days after it was received';
        END IF;
        IF NEW.routed_to_id IS NULL
           OR NEW.routed_to_id IS DISTINCT FROM amendment_note_author(NEW.record_id,
                                                                       NEW.patient_id) THEN
            {REFUSE} 'an amendment concerns a signed note of the patient, routed to its author';
        END IF;
        IF NEW.outcome <> '{OPEN}' OR NEW.extended_on IS NOT NULL
           OR NEW.extended_by_id IS NOT NULL OR NEW.extension_reason IS NOT NULL
           OR NEW.decided_on IS NOT NULL OR NEW.decided_by_id IS NOT NULL
           OR NEW.addendum_id IS NOT NULL OR NEW.notify IS NOT NULL OR NEW.denial_ground <> ''
           OR NEW.denial_reason IS NOT NULL OR NEW.disagreement IS NOT NULL
           OR NEW.disagreement_on IS NOT NULL OR NEW.rebuttal IS NOT NULL
           OR NEW.rebuttal_on IS NOT NULL THEN
            {REFUSE} 'a new amendment request is open, with no later step taken';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.amendment_id, NEW.patient_id, NEW.record_id, NEW.received_on, NEW.received_how,
        NEW.recorded_by_id, NEW.requested, NEW.routed_to_id, NEW.recorded_at)
       IS DISTINCT FROM (OLD.amendment_id, OLD.patient_id, OLD.record_id, OLD.received_on,
        OLD.received_how, OLD.recorded_by_id, OLD.requested, OLD.routed_to_id,
        OLD.recorded_at) THEN
        {REFUSE} 'what was asked, of which note, by whom and to whom never changes';
    END IF;
    IF (NEW.due_on, NEW.extended_on, NEW.extended_by_id, NEW.extension_reason)
       IS DISTINCT FROM (OLD.due_on, OLD.extended_on, OLD.extended_by_id, OLD.extension_reason)
    THEN
        IF OLD.outcome <> '{OPEN}' OR OLD.extended_on IS NOT NULL THEN
            {REFUSE} 'an open amendment request is extended once';
        END IF;
        IF {CLINIC_TODAY} > OLD.due_on THEN
            {REFUSE} 'an amendment request is extended before it falls due';
        END IF;
        IF NEW.extended_on IS DISTINCT FROM {CLINIC_TODAY}
           OR NEW.due_on IS DISTINCT FROM OLD.due_on + {AMENDMENT_EXTENSION_DAYS}
           OR NEW.extension_reason IS NULL
           OR NEW.extended_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an extension is {AMENDMENT_EXTENSION_DAYS} days, today, with a reason';
        END IF;
    END IF;
    IF (NEW.outcome, NEW.decided_on, NEW.decided_by_id, NEW.addendum_id, NEW.notify,
        NEW.denial_ground, NEW.denial_reason)
       IS DISTINCT FROM (OLD.outcome, OLD.decided_on, OLD.decided_by_id, OLD.addendum_id,
        OLD.notify, OLD.denial_ground, OLD.denial_reason) THEN
        IF OLD.outcome <> '{OPEN}' THEN
            {REFUSE} 'a decision on an amendment never changes';
        END IF;
        IF NEW.decided_by_id IS DISTINCT FROM clinic_staff_id()
           OR NEW.decided_by_id IS DISTINCT FROM OLD.routed_to_id
           OR NEW.decided_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'an amendment is decided by the author it was routed to, today';
        END IF;
        IF NEW.outcome = '{ACCEPTED}' THEN
            IF NEW.addendum_id IS NULL
               OR NOT amendment_addendum_written(NEW.addendum_id, NEW.record_id)
               OR NEW.denial_ground <> '' OR NEW.denial_reason IS NOT NULL THEN
                {REFUSE} 'an accepted amendment is the caller''s addendum to the note';
            END IF;
        ELSIF NEW.outcome = '{DENIED}' THEN
            IF NEW.denial_ground = '' OR NEW.denial_reason IS NULL
               OR NEW.addendum_id IS NOT NULL THEN
                {REFUSE} 'a denial names its ground and its written reason';
            END IF;
        ELSE
            {REFUSE} 'an amendment is accepted or denied';
        END IF;
    END IF;
    IF (NEW.disagreement, NEW.disagreement_on)
       IS DISTINCT FROM (OLD.disagreement, OLD.disagreement_on) THEN
        IF OLD.outcome <> '{DENIED}' OR OLD.disagreement IS NOT NULL
           OR NEW.disagreement IS NULL OR NEW.disagreement_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'a statement of disagreement follows a denial, once, today';
        END IF;
    END IF;
    IF (NEW.rebuttal, NEW.rebuttal_on) IS DISTINCT FROM (OLD.rebuttal, OLD.rebuttal_on) THEN
        IF OLD.rebuttal IS NOT NULL OR NEW.disagreement IS NULL OR NEW.rebuttal IS NULL
           OR NEW.rebuttal_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'a rebuttal answers a statement of disagreement, once, today';
        END IF;
    END IF;""",  # noqa: S608 (constants only)
)


def _function(signature: str, text: str, *grantees: str) -> list[str]:
    return [
        text,
        f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC",
        *(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}" for role in grantees),
    ]


@register_step(order=10)
def amendment_security(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_row_level_security(connection, TABLE)
    return done + ensure_policies(connection, TABLE, {**POLICIES, **gate_policies(TABLE)})


@register_step(order=42)
def amendment_checks(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for signature, text, grantees in (
        ("amendment_note_author(uuid,uuid)", AUTHOR_FUNCTION, (PRIVACY_OFFICER, CLINICIAN)),
        ("amendment_addendum_written(uuid,uuid)", ADDENDUM_FUNCTION, (CLINICIAN,)),
        ("amendable_visits(uuid)", VISITS_FUNCTION, (PRIVACY_OFFICER,)),
    ):
        done += ensure_functions(connection, signature, _function(signature, text, *grantees))
    return done + ensure_trigger_function(
        connection,
        "amendment_requests_check_write",
        CHECK_FUNCTION,
        TABLE,
        "amendment_requests_check_write",
        "INSERT OR UPDATE",
    )
