"""What the database checks for signed notes and addenda (docs/notes.md), whoever writes:

- signing a visit: only its author (the provider, the verified caller) signs, now, and the
  signature changes nothing else (signing and editing are separate steps, each with its event);
  a new visit is never born signed (records/db_checks.py, with the visit's other rules);
- a signed visit is final for every role, the owner included: no change, no delete. The one
  exception is the owner's key rotation (rotate_field_keys), which may rewrite the encrypted
  columns' ciphertext and nothing else (the database cannot read the plaintext, so it checks
  that every other column stays as it is);
- an addendum: written by the verified caller, now, for a signed visit the caller may see (the
  check reads the visit under the caller's own row-level security), with the visit's patient;
  then final like a signed visit (the clinician holds no UPDATE or DELETE right either);
- a signature and an addendum are each in the access log, by their author, when the
  transaction commits (a deferred constraint trigger), as break-the-glass grants are.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import access_log, roles
from clinic.db_checks import (
    NOW_WINDOW,
    REFUSE,
    check_function,
    ensure_trigger_function,
    sql_strings,
)
from clinic.encryption import EncryptedFieldMixin
from clinic.provisioning import ensure_functions, register_step
from records.models import ClinicalRecord, VisitAddendum


def _encrypted_columns(model: type) -> list[str]:
    return [
        str(field.column)
        for field in model._meta.concrete_fields  # type: ignore[attr-defined]
        if isinstance(field, EncryptedFieldMixin)
    ]


def final_row_function(name: str, model: type, is_final: str, what: str) -> str:
    """A trigger function refusing UPDATE and DELETE of a row once `is_final` (SQL on OLD) holds,
    for every role; the owner may still rewrite the encrypted columns (key rotation)."""
    encrypted = sql_strings(_encrypted_columns(model))
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF NOT ({is_final}) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        {REFUSE} '{what} is kept';
    END IF;
    IF current_user <> '{roles.OWNER_ROLE}' THEN
        {REFUSE} '{what} never changes; corrections are addenda';
    END IF;
    IF (to_jsonb(NEW) - ARRAY[{encrypted}]) IS DISTINCT FROM (to_jsonb(OLD) - ARRAY[{encrypted}])
    THEN
        {REFUSE} 'maintenance may re-encrypt {what}, nothing else';
    END IF;
    RETURN NEW;
END
$fn$"""


RECORD_FINAL_FUNCTION = final_row_function(
    "clinical_records_signed_final", ClinicalRecord, "OLD.signed_at IS NOT NULL", "a signed note"
)
ADDENDUM_FINAL_FUNCTION = final_row_function(
    "visit_addenda_final", VisitAddendum, "true", "an addendum"
)

# Signing, for the visit's write check (records/db_checks.py adds it to the UPDATE branch).
SIGNING_CHECK = f"""
        IF OLD.signed_at IS NOT NULL THEN
            {REFUSE} 'a signed note never changes; corrections are addenda';
        END IF;
        IF NEW.signed_at IS NOT NULL THEN
            IF NEW.signed_by_id IS DISTINCT FROM clinic_staff_id()
               OR OLD.provider_id IS DISTINCT FROM clinic_staff_id() THEN
                {REFUSE} 'a note is signed by its author';
            END IF;
            IF NEW.signed_at NOT BETWEEN {NOW_WINDOW} THEN
                {REFUSE} 'a note is signed now';
            END IF;
            IF (NEW.visit_date, NEW.diagnosis_code, NEW.notes)
               IS DISTINCT FROM (OLD.visit_date, OLD.diagnosis_code, OLD.notes) THEN
                {REFUSE} 'signing changes nothing but the signature';
            END IF;
        END IF;"""
NEW_RECORD_UNSIGNED = f"""
        IF NEW.signed_at IS NOT NULL OR NEW.signed_by_id IS NOT NULL THEN
            {REFUSE} 'a new visit is signed in a step of its own';
        END IF;"""

ADDENDUM_FUNCTION = check_function(
    "visit_addenda_check_write",
    f"""
    IF NEW.author_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'an addendum is written by its author';
    END IF;
    IF NEW.created_at NOT BETWEEN {NOW_WINDOW} THEN
        {REFUSE} 'an addendum is signed now';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM clinical_records r
                   WHERE r.record_id = NEW.record_id AND r.patient_id = NEW.patient_id) THEN
        {REFUSE} 'an addendum follows a visit of its patient that the author may see';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM clinical_records r
                   WHERE r.record_id = NEW.record_id AND r.signed_at IS NOT NULL) THEN
        {REFUSE} 'an addendum follows a signed note';
    END IF;""",  # noqa: S608 (constants only)
)

# Whether the caller's own event is in the access log, for the deferred checks below: the
# caller may not read the log, so the owner's function looks. It answers only about the
# caller's own events of these two kinds.
EVENT_LOGGED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION clinical_note_event_logged(p_patient uuid, p_object text, p_action text)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT p_action IN ('{access_log.NOTE_SIGNED}', '{access_log.ADDENDUM_ADDED}') AND EXISTS (
    SELECT 1 FROM public.access_log e
    WHERE e.patient_id = p_patient AND e.object_id = p_object AND e.action = p_action
      AND e.staff_id = public.clinic_staff_id())
$fn$"""  # noqa: S608 (constants only)

REQUIRE_EVENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION clinical_notes_require_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF current_user = '{roles.OWNER_ROLE}' THEN
        RETURN NULL;
    END IF;
    -- Nested: PL/pgSQL resolves every field named in a condition, so NEW.addendum_id may
    -- only be read once the table is known.
    IF TG_TABLE_NAME = 'clinical_records' THEN
        IF NOT clinical_note_event_logged(NEW.patient_id, NEW.record_id::text,
                                          '{access_log.NOTE_SIGNED}') THEN
            {REFUSE} 'a note is signed with its access-log event';
        END IF;
    ELSIF NOT clinical_note_event_logged(NEW.patient_id, NEW.addendum_id::text,
                                         '{access_log.ADDENDUM_ADDED}') THEN
        {REFUSE} 'an addendum is written with its access-log event';
    END IF;
    RETURN NULL;
END
$fn$"""

REQUIRE_EVENT_TRIGGERS = [
    "DROP TRIGGER IF EXISTS clinical_records_sign_event ON clinical_records",
    "CREATE CONSTRAINT TRIGGER clinical_records_sign_event AFTER UPDATE ON clinical_records "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "WHEN (OLD.signed_at IS NULL AND NEW.signed_at IS NOT NULL) "
    "EXECUTE FUNCTION clinical_notes_require_event()",
    "DROP TRIGGER IF EXISTS visit_addenda_event ON visit_addenda",
    "CREATE CONSTRAINT TRIGGER visit_addenda_event AFTER INSERT ON visit_addenda "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION clinical_notes_require_event()",
]


@register_step(order=41)
def signed_note_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return [
        *ensure_trigger_function(
            connection,
            "clinical_records_signed_final",
            RECORD_FINAL_FUNCTION,
            "clinical_records",
            "clinical_records_signed_final",
            "UPDATE OR DELETE",
        ),
        *ensure_trigger_function(
            connection,
            "visit_addenda_final",
            ADDENDUM_FINAL_FUNCTION,
            "visit_addenda",
            "visit_addenda_final",
            "UPDATE OR DELETE",
        ),
        *ensure_trigger_function(
            connection,
            "visit_addenda_check_write",
            ADDENDUM_FUNCTION,
            "visit_addenda",
            "visit_addenda_check_write",
            "INSERT",
        ),
        *ensure_functions(
            connection,
            "clinical_notes_require_event()",
            [EVENT_LOGGED_FUNCTION, REQUIRE_EVENT_FUNCTION, *REQUIRE_EVENT_TRIGGERS],
        ),
    ]
