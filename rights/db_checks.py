"""What the database checks on every write to `access_requests` through the application's roles
(the owner's maintenance excepted, as everywhere):

- a request is recorded by the verified caller (`verified_by_id = clinic_staff_id()`), now, open,
  received no later than today (the clinic's date) and due exactly 30 days after it was
  received, with nothing of the later steps filled in;
- what was received, how, from whom, verified how and by whom never changes;
- the due date changes only with the one extension: once, while the request is open and not yet
  due (on or before the due date, today), by exactly 30 days, with a written reason, by the
  caller; an extension is never undone or rewritten;
- a closed request never changes; closing is done by the caller, today; a denial (whole or
  partial) names its ground; fulfilling (whole or partial) needs a recorded hand-over;
- the hand-over is recorded once, today, and only after an export was produced.

`access_request_demographics(request)` gives the privacy officer the demographics of the
patient of an open access request (for the export), and nothing for any other request or role.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.clinic_time import CLINIC_TODAY
from clinic.db_checks import NOW_WINDOW, REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import ensure_functions, register_step, revoke_other_executors
from rights.models import DENIED, EXTENSION_DAYS, FULFILLED, OPEN, PARTIAL, RESPONSE_DAYS

NOW = NOW_WINDOW
PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]

ACCESS_REQUEST_FUNCTION = check_function(
    "access_requests_check_write",
    f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.verified_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an access request is recorded by the caller';
        END IF;
        IF NEW.recorded_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'an access request is recorded now';
        END IF;
        IF NEW.received_on > {CLINIC_TODAY} THEN
            {REFUSE} 'an access request is not received in the future';
        END IF;
        IF NEW.due_on IS DISTINCT FROM NEW.received_on + {RESPONSE_DAYS} THEN
            {REFUSE} 'an access request is due {RESPONSE_DAYS} days after it was received';
        END IF;
        IF NEW.outcome <> '{OPEN}' OR NEW.extended_on IS NOT NULL
           OR NEW.extended_by_id IS NOT NULL OR NEW.extension_reason IS NOT NULL
           OR NEW.pdf_sha256 <> '' OR NEW.fhir_sha256 <> '' OR NEW.handed_over_on IS NOT NULL
           OR NEW.denial_ground <> '' OR NEW.outcome_note IS NOT NULL
           OR NEW.closed_by_id IS NOT NULL THEN
            {REFUSE} 'a new access request is open, with no later step taken';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.outcome <> '{OPEN}' THEN
        {REFUSE} 'a closed access request never changes';
    END IF;
    IF (NEW.request_id, NEW.patient_id, NEW.received_on, NEW.received_how, NEW.verified_by_id,
        NEW.verified_how, NEW.requested, NEW.format, NEW.delivery, NEW.recorded_at)
       IS DISTINCT FROM (OLD.request_id, OLD.patient_id, OLD.received_on, OLD.received_how,
        OLD.verified_by_id, OLD.verified_how, OLD.requested, OLD.format, OLD.delivery,
        OLD.recorded_at) THEN
        {REFUSE} 'what was asked, how and by whom never changes';
    END IF;
    IF (NEW.due_on, NEW.extended_on, NEW.extended_by_id, NEW.extension_reason)
       IS DISTINCT FROM (OLD.due_on, OLD.extended_on, OLD.extended_by_id, OLD.extension_reason)
    THEN
        IF OLD.extended_on IS NOT NULL THEN
            {REFUSE} 'an access request is extended once';
        END IF;
        IF {CLINIC_TODAY} > OLD.due_on THEN
            {REFUSE} 'an access request is extended before it falls due';
        END IF;
        IF NEW.extended_on IS DISTINCT FROM {CLINIC_TODAY}
           OR NEW.due_on IS DISTINCT FROM OLD.due_on + {EXTENSION_DAYS}
           OR NEW.extension_reason IS NULL
           OR NEW.extended_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an extension is {EXTENSION_DAYS} days, today, with a written reason';
        END IF;
    END IF;
    IF NEW.handed_over_on IS DISTINCT FROM OLD.handed_over_on THEN
        IF OLD.handed_over_on IS NOT NULL OR NEW.handed_over_on IS DISTINCT FROM {CLINIC_TODAY} THEN
            {REFUSE} 'a hand-over is recorded once, today';
        END IF;
        IF NEW.pdf_sha256 = '' AND NEW.fhir_sha256 = '' THEN
            {REFUSE} 'a hand-over follows a produced export';
        END IF;
    END IF;
    IF NEW.outcome <> '{OPEN}' THEN
        IF NEW.closed_on IS DISTINCT FROM {CLINIC_TODAY}
           OR NEW.closed_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an access request is closed today, by the caller';
        END IF;
        IF NEW.outcome IN ('{DENIED}', '{PARTIAL}') AND NEW.denial_ground = '' THEN
            {REFUSE} 'a denial names its ground';
        END IF;
        IF NEW.outcome = '{FULFILLED}' AND NEW.denial_ground <> '' THEN
            {REFUSE} 'a fulfilled request has no denial ground';
        END IF;
        IF NEW.outcome IN ('{FULFILLED}', '{PARTIAL}') AND NEW.handed_over_on IS NULL THEN
            {REFUSE} 'a request is fulfilled by a recorded hand-over';
        END IF;
    ELSIF (NEW.closed_on, NEW.closed_by_id, NEW.denial_ground, NEW.outcome_note)
          IS DISTINCT FROM (OLD.closed_on, OLD.closed_by_id, OLD.denial_ground, OLD.outcome_note)
    THEN
        {REFUSE} 'only closing records the outcome';
    END IF;""",  # noqa: S608 (constants only)
)

# The demographics of the patient of an open access request, as stored (ciphertext; only the
# application's keys read it). SECURITY DEFINER: the privacy officer holds no right on these
# columns otherwise (patients/db_grants.py); the function answers only the verified privacy
# officer, only for an open request, and only with that request's patient.
DEMOGRAPHICS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION access_request_demographics(p_request uuid)
RETURNS TABLE (date_of_birth text, address text, phone text, email text, state text,
               administrative_sex text, gender_identity text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT p.date_of_birth, p.address, p.phone, p.email, p.state, p.administrative_sex,
       p.gender_identity
FROM public.access_requests ar JOIN public.patient_identities p ON p.patient_id = ar.patient_id
WHERE ar.request_id = p_request AND ar.outcome = '{OPEN}'
  AND clinic_staff_role() = '{PRIVACY_OFFICER}' AND clinic_staff_id() IS NOT NULL
$fn$"""  # noqa: S608 (constants only)


@register_step(order=40)
def access_request_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_trigger_function(
        connection,
        "access_requests_check_write",
        ACCESS_REQUEST_FUNCTION,
        "access_requests",
        "access_requests_check_write",
        "INSERT OR UPDATE",
    )
    return (
        done
        + ensure_functions(
            connection,
            "access_request_demographics(uuid)",
            [
                # Its columns changed once (sex and gender identity added): a new return type
                # needs a new function; the grants below follow it.
                "DROP FUNCTION IF EXISTS access_request_demographics(uuid)",
                DEMOGRAPHICS_FUNCTION,
                "REVOKE ALL ON FUNCTION access_request_demographics(uuid) FROM PUBLIC",
                f"GRANT EXECUTE ON FUNCTION access_request_demographics(uuid) TO {PRIVACY_OFFICER}",
            ],
        )
        + revoke_other_executors(connection, "access_request_demographics(uuid)", [PRIVACY_OFFICER])
    )
