"""Database rights, row-level security and write checks of `amendment_requests` (164.526).

- Privacy officer: reads every request, records one (as the caller, now, received no later than
  the clinic's today, due 60 days after, about one item of that patient: a signed note routed to
  its author, a chart entry routed to who recorded it (or, that account inactive, the patient's
  care-team clinician), a demographic field routed to nobody), extends it once, decides the
  requests about demographic fields, records the patient's statement of disagreement after a
  denial and the clinic's rebuttal after that.
- Clinician: reads the requests routed to them, and decides them (only the decision columns):
  as the caller, today, while open; accepting a note's names an addendum to that note written
  by the caller, accepting a chart entry's needs the caller's amendment entry for it
  (rights/db_amendment_entries.py); denying names the ground (164.526(a)(2)) and a written
  reason. A decision never changes. It also reads the denied requests about chart entries of
  the patients it may see (the denial, the disagreement and the rebuttal are attached to the
  entry, 164.526(d)(4), and shown under it).
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
    ensure_function,
    register_step,
)
from clinic.role_gate import gates_itself
from clinic.roles import grant
from clinic.staff_identity import STAFF_ID
from records.db_grants import ACTIVE_CARE_TEAM, clinician_may_see_per_row
from rights.amendment_models import CHART_KINDS, CHART_TABLES, DEMOGRAPHIC, NOTE
from rights.db_policies import OWNER_MAINTAINS, PRIVACY_OFFICER_KEEPS, ensure_table_security
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

CHART_KIND_LIST = ", ".join(f"'{kind}'" for kind in CHART_KINDS)

POLICIES = {
    "privacy_officer_keeps": PRIVACY_OFFICER_KEEPS,
    "clinician_reads_routed": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} "
    f"USING (routed_to_id = {STAFF_ID})",
    "clinician_reads_denied_entries": f"AS PERMISSIVE FOR SELECT TO {CLINICIAN} "
    f"USING (outcome = '{DENIED}' AND target_kind IN ({CHART_KIND_LIST}) "
    # The function, not the condition written out: see rights/db_amendment_entries.py MAY_SEE.
    f"AND {clinician_may_see_per_row('amendment_requests.patient_id')})",
    "clinician_decides_routed": f"AS PERMISSIVE FOR UPDATE TO {CLINICIAN} "
    f"USING (routed_to_id = {STAFF_ID}) WITH CHECK (routed_to_id = {STAFF_ID})",
    "owner_maintains": OWNER_MAINTAINS,
}

add_role_grants(
    PRIVACY_OFFICER,
    # The decision columns too: the privacy officer decides demographic fields (the write check
    # refuses it every other decision).
    [grant("SELECT, INSERT", TABLE), grant("UPDATE", TABLE, *OFFICER_STEPS, *DECISION)],
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

# Who decides an amendment of a chart entry of the patient: who recorded it, or if that account
# is inactive, the patient's care-team clinician of longest standing today (NULL if none, or if
# the entry is not the patient's). The privacy officer may not read the chart: the owner looks.
_ITEMS = "\n    UNION ALL ".join(
    f"SELECT recorded_by_id FROM public.{table} WHERE p_kind = '{kind}' AND {key} = p_item"  # noqa: S608 (constants only)
    " AND patient_id = p_patient"
    for kind, (table, key) in CHART_TABLES.items()
)
_CARE_TEAM = ACTIVE_CARE_TEAM.replace(f"ct.staff_id = {STAFF_ID} AND ", "")
ITEM_DECIDER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION amendment_item_decider(p_kind text, p_item uuid, p_patient uuid)
RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
WITH item AS (
    {_ITEMS}
)
SELECT CASE WHEN u.is_active THEN u.id ELSE (
    SELECT ct.staff_id FROM public.care_team ct JOIN public.auth_user cu ON cu.id = ct.staff_id
    WHERE ct.patient_id = p_patient AND cu.is_active AND {_CARE_TEAM}
    ORDER BY ct.starts_on, ct.staff_id LIMIT 1) END
FROM item JOIN public.auth_user u ON u.id = item.recorded_by_id
WHERE clinic_staff_role() IN ('{PRIVACY_OFFICER}', '{CLINICIAN}')
$fn$"""  # noqa: S608 (constants only)

# The chart entries of a patient the privacy officer may name in a request: kind, id, the day
# recorded, a plaintext detail (a problem's ICD-10-CM code, the time vital signs were taken;
# no free text) and who decides; for the verified privacy officer only.
ITEMS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION amendable_items(p_patient uuid)
RETURNS TABLE (kind text, item_id uuid, recorded_at timestamptz, detail text,
               taken_at timestamptz, decider integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT i.kind, i.item_id, i.recorded_at, i.detail, i.taken_at,
       amendment_item_decider(i.kind, i.item_id, p_patient)
FROM (
    SELECT 'problem', problem_id, created_at, icd10_code::text, NULL::timestamptz
    FROM public.chart_problems WHERE patient_id = p_patient
    UNION ALL SELECT 'allergy', allergy_id, created_at, status::text, NULL
    FROM public.chart_allergies WHERE patient_id = p_patient
    UNION ALL SELECT 'medication', medication_id, created_at, status::text, NULL
    FROM public.chart_medications WHERE patient_id = p_patient
    UNION ALL SELECT 'vital_signs', vitals_id, created_at, NULL, taken_at
    FROM public.chart_vital_signs WHERE patient_id = p_patient
) i(kind, item_id, recorded_at, detail, taken_at)
WHERE clinic_staff_role() = '{PRIVACY_OFFICER}' AND clinic_staff_id() IS NOT NULL
ORDER BY i.kind, i.recorded_at DESC
$fn$"""  # noqa: S608 (constants only)

# Whether the caller wrote the amendment entry of this request (rights/db_amendment_entries.py).
ENTRY_FUNCTION = """
CREATE OR REPLACE FUNCTION amendment_entry_written(p_amendment uuid)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT EXISTS (SELECT 1 FROM public.amendment_entries e
               WHERE e.amendment_id = p_amendment AND e.author_id = clinic_staff_id())
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

CHART_ITEM = "COALESCE(NEW.problem_id, NEW.allergy_id, NEW.medication_id, NEW.vitals_id)"

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
        -- Exactly one target of its kind: the table's CHECK amendment_request_target.
        IF NEW.target_kind = '{NOTE}' THEN
            IF NEW.routed_to_id IS NULL
               OR NEW.routed_to_id IS DISTINCT FROM amendment_note_author(NEW.record_id,
                                                                           NEW.patient_id) THEN
                {REFUSE} 'an amendment concerns a signed note of the patient, routed to its author';
            END IF;
        ELSIF NEW.target_kind = '{DEMOGRAPHIC}' THEN
            IF NEW.routed_to_id IS NOT NULL THEN
                {REFUSE} 'the privacy officer decides an amendment of a demographic field';
            END IF;
        ELSIF amendment_item_decider(NEW.target_kind, {CHART_ITEM}, NEW.patient_id) IS NULL THEN
            {REFUSE} 'an amendment concerns a chart entry of the same patient, with a decider';
        ELSIF NEW.routed_to_id IS DISTINCT FROM amendment_item_decider(
                NEW.target_kind, {CHART_ITEM}, NEW.patient_id) THEN
            {REFUSE} 'a chart entry''s amendment is routed to its recorder (or the care team)';
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
        OLD.recorded_at)
       OR (NEW.target_kind, NEW.problem_id, NEW.allergy_id, NEW.medication_id, NEW.vitals_id,
           NEW.demographic_field)
       IS DISTINCT FROM (OLD.target_kind, OLD.problem_id, OLD.allergy_id, OLD.medication_id,
           OLD.vitals_id, OLD.demographic_field) THEN
        {REFUSE} 'what was asked, of which item, by whom and to whom never changes';
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
           OR NEW.decided_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'an amendment is decided by the caller, today';
        END IF;
        IF OLD.target_kind = '{DEMOGRAPHIC}' THEN
            IF clinic_staff_role() IS DISTINCT FROM '{PRIVACY_OFFICER}' THEN
                {REFUSE} 'the privacy officer decides an amendment of a demographic field';
            END IF;
        ELSIF NEW.decided_by_id IS DISTINCT FROM OLD.routed_to_id THEN
            {REFUSE} 'an amendment is decided by the author it was routed to, today';
        END IF;
        IF NEW.outcome = '{ACCEPTED}' AND OLD.target_kind = '{NOTE}' THEN
            IF NEW.addendum_id IS NULL
               OR NOT amendment_addendum_written(NEW.addendum_id, NEW.record_id)
               OR NEW.denial_ground <> '' OR NEW.denial_reason IS NOT NULL THEN
                {REFUSE} 'an accepted amendment is the caller''s addendum to the note';
            END IF;
        ELSIF NEW.outcome = '{ACCEPTED}' THEN
            IF NEW.addendum_id IS NOT NULL OR NOT amendment_entry_written(NEW.amendment_id)
               OR NEW.denial_ground <> '' OR NEW.denial_reason IS NOT NULL THEN
                {REFUSE} 'an accepted amendment is the caller''s amendment entry for the item';
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


@register_step(order=10)
def amendment_security(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_table_security(connection, TABLE, POLICIES)


@register_step(order=42)
def amendment_checks(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for signature, text, grantees in (
        ("amendment_note_author(uuid,uuid)", AUTHOR_FUNCTION, (PRIVACY_OFFICER, CLINICIAN)),
        ("amendment_addendum_written(uuid,uuid)", ADDENDUM_FUNCTION, (CLINICIAN,)),
        ("amendable_visits(uuid)", VISITS_FUNCTION, (PRIVACY_OFFICER,)),
        (
            "amendment_item_decider(text,uuid,uuid)",
            ITEM_DECIDER_FUNCTION,
            (PRIVACY_OFFICER, CLINICIAN),
        ),
        ("amendable_items(uuid)", ITEMS_FUNCTION, (PRIVACY_OFFICER,)),
        ("amendment_entry_written(uuid)", ENTRY_FUNCTION, (PRIVACY_OFFICER, CLINICIAN)),
    ):
        done += ensure_function(connection, signature, text, grantees)
    return done + ensure_trigger_function(
        connection,
        "amendment_requests_check_write",
        CHECK_FUNCTION,
        TABLE,
        "amendment_requests_check_write",
        "INSERT OR UPDATE",
    )
