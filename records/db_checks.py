"""What the database checks on every write to the clinical tables, whoever writes through the
application's roles (the owner's maintenance, such as key rotation and demo data, excepted):

- a visit: recorded by its provider (the verified caller), dated no later than the clinic's
  today, with a billable ICD-10-CM diagnosis (the code set's table, records/icd10_table.py); its
  patient, provider and creation time never change, and every change raises its version by
  exactly one (optimistic locking, made a rule); it is signed by its author only, and once
  signed never changes (records/db_signing.py);
- a break-the-glass grant: the caller's own, starting now, lasting at most BREAK_GLASS_HOURS,
  with a known reason; its terms never change; it ends once, not in the future, and never
  reopens; its review is signed by the verified reviewer, once; and its start, its early end
  and its review are each in the access log, by the grant's clinician or its reviewer, when the
  transaction commits (a deferred constraint trigger), so no grant is ever taken, ended or
  signed off without the event the privacy officer reviews.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

import records.db_banner  # noqa: F401  (the banner's function, found with these)
from clinic import access_log, roles
from clinic.db_checks import REFUSE, check_function, ensure_trigger_function, sql_strings
from clinic.provisioning import ensure_functions, register_step
from records.db_signing import NEW_RECORD_UNSIGNED, SIGNING_CHECK
from records.icd10_table import ensure_code_table
from records.models import BreakGlassGrant

RECORD_FUNCTION = check_function(
    "clinical_records_check_write",
    f"""
    IF NEW.visit_date > clinic_today() THEN
        {REFUSE} 'a visit cannot be dated in the future';
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.diagnosis_code IS DISTINCT FROM OLD.diagnosis_code)
       AND NOT clinic_icd10_billable(NEW.diagnosis_code) THEN
        {REFUSE} 'not a billable ICD-10-CM code';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.provider_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'a visit is recorded by its provider';
        END IF;
        IF NEW.version <> 1 THEN
            {REFUSE} 'a new visit starts at version 1';
        END IF;{NEW_RECORD_UNSIGNED}
    ELSE{SIGNING_CHECK}
        IF (NEW.record_id, NEW.patient_id, NEW.provider_id, NEW.created_at)
           IS DISTINCT FROM (OLD.record_id, OLD.patient_id, OLD.provider_id, OLD.created_at) THEN
            {REFUSE} 'the patient, provider and creation time of a visit never change';
        END IF;
        IF NEW.version IS DISTINCT FROM OLD.version + 1 THEN
            {REFUSE} 'every change raises the version by one';
        END IF;
    END IF;""",
)


def grant_function() -> str:
    reasons = sql_strings(code for code, _label in BreakGlassGrant.REASONS)
    hours = int(settings.BREAK_GLASS_HOURS)
    return check_function(
        "break_glass_grants_check_write",
        f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.staff_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'a grant is the caller''s own';
        END IF;
        IF NEW.starts_at NOT BETWEEN now() - interval '5 minutes' AND now() + interval '1 minute'
        THEN
            {REFUSE} 'a grant starts now';
        END IF;
        IF NEW.expires_at <= NEW.starts_at
           OR NEW.expires_at > NEW.starts_at + make_interval(hours => {hours}) THEN
            {REFUSE} 'a grant lasts at most {hours} hours';
        END IF;
        IF NEW.reason_category NOT IN ({reasons}) THEN
            {REFUSE} 'unknown reason';
        END IF;
        IF NEW.ended_at IS NOT NULL OR NEW.reviewed_at IS NOT NULL
           OR NEW.reviewed_by_id IS NOT NULL THEN
            {REFUSE} 'a new grant is neither ended nor reviewed';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.grant_id, NEW.staff_id, NEW.patient_id, NEW.reason_category, NEW.reason_text,
        NEW.starts_at, NEW.expires_at)
       IS DISTINCT FROM (OLD.grant_id, OLD.staff_id, OLD.patient_id, OLD.reason_category,
        OLD.reason_text, OLD.starts_at, OLD.expires_at) THEN
        {REFUSE} 'the terms of a grant never change';
    END IF;
    IF OLD.ended_at IS NOT NULL AND NEW.ended_at IS DISTINCT FROM OLD.ended_at THEN
        {REFUSE} 'an ended grant stays ended';
    END IF;
    IF OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
       AND (NEW.ended_at < NEW.starts_at OR NEW.ended_at > now() + interval '1 minute') THEN
        {REFUSE} 'a grant ends now';
    END IF;
    IF OLD.reviewed_at IS NOT NULL
       AND (NEW.reviewed_at, NEW.reviewed_by_id, NEW.review_comment)
           IS DISTINCT FROM (OLD.reviewed_at, OLD.reviewed_by_id, OLD.review_comment) THEN
        {REFUSE} 'a review is final';
    END IF;
    IF OLD.reviewed_at IS NULL AND NEW.reviewed_by_id IS NOT NULL
       AND NEW.reviewed_by_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'a review is signed by its reviewer';
    END IF;""",
    )


# Whether a grant's event is in the access log, for the deferred check below: the caller may not
# read the log, so the owner's function looks (it answers yes or no about one grant the caller
# names by its id, nothing else).
EVENT_LOGGED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION break_glass_event_logged(p_grant uuid, p_action text)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT EXISTS (
    SELECT 1 FROM public.break_glass_grants g
    JOIN public.access_log e ON e.patient_id = g.patient_id AND e.object_id = g.grant_id::text
    WHERE g.grant_id = p_grant AND e.action = p_action
      AND e.staff_id = CASE WHEN p_action = '{access_log.BREAK_GLASS_REVIEWED}'
                            THEN g.reviewed_by_id ELSE g.staff_id END)
$fn$"""  # noqa: S608 (constants only)

REQUIRE_EVENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION break_glass_grants_require_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF current_user = '{roles.OWNER_ROLE}' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT'
       AND NOT break_glass_event_logged(NEW.grant_id, '{access_log.BREAK_GLASS_STARTED}') THEN
        {REFUSE} 'a grant starts with its access-log event';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
       AND NOT break_glass_event_logged(NEW.grant_id, '{access_log.BREAK_GLASS_ENDED}') THEN
        {REFUSE} 'a grant ends with its access-log event';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.reviewed_at IS NULL AND NEW.reviewed_at IS NOT NULL
       AND NOT break_glass_event_logged(NEW.grant_id, '{access_log.BREAK_GLASS_REVIEWED}') THEN
        {REFUSE} 'a review is signed with its access-log event';
    END IF;
    RETURN NULL;
END
$fn$"""

REQUIRE_EVENT_TRIGGER = """
CREATE CONSTRAINT TRIGGER break_glass_grants_require_event
AFTER INSERT OR UPDATE ON break_glass_grants DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION break_glass_grants_require_event()"""


@register_step(order=40)
def clinical_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return [
        *ensure_code_table(connection),
        *ensure_trigger_function(
            connection,
            "clinical_records_check_write",
            RECORD_FUNCTION,
            "clinical_records",
            "clinical_records_check_write",
            "INSERT OR UPDATE",
        ),
        *ensure_trigger_function(
            connection,
            "break_glass_grants_check_write",
            grant_function(),
            "break_glass_grants",
            "break_glass_grants_check_write",
            "INSERT OR UPDATE",
        ),
        *ensure_functions(
            connection,
            "break_glass_grants_require_event()",
            [
                EVENT_LOGGED_FUNCTION,
                REQUIRE_EVENT_FUNCTION,
                "DROP TRIGGER IF EXISTS break_glass_grants_require_event ON break_glass_grants",
                REQUIRE_EVENT_TRIGGER,
            ],
        ),
    ]


# Who saved a visit last is the verified caller, on every write through an application role: the
# statement's own value is replaced, so it cannot name someone else (the owner's loads excepted).
CHANGED_BY_FUNCTION = check_function(
    "clinical_records_stamp_changed_by", "    NEW.changed_by_id := clinic_staff_id();"
)


@register_step(order=41)
def clinical_records_changed_by(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "clinical_records_stamp_changed_by",
        CHANGED_BY_FUNCTION,
        "clinical_records",
        "clinical_records_stamp_changed_by",
        "INSERT OR UPDATE",
    )
