"""What the database checks on every write to the chart through the application's roles (the
owner's maintenance excepted, as everywhere), and the history it keeps of every write:

- every item is recorded by the verified caller, now; its id, patient, author and creation
  time never change, and every change is stamped now;
- an allergy is not recorded while the patient's "no known allergies" statement stands (the
  application withdraws it in the same transaction), and "no known allergies" is not stated
  while an active allergy is on file; whoever states or withdraws it signs it;
- a problem carries a billable ICD-10-CM code (the code set's table), an onset and a
  resolution no later than the clinic's today;
- vital signs are taken no later than now and never change afterwards, except to be marked
  entered in error (their plausible ranges are CHECK constraints of the table, models.py);
- an entry marked entered in error stays so, unchanged;
- `chart_history`: after every insert and update of an item, the database itself appends the
  row as stored (free text still ciphertext), the operation, the verified caller and the time.
  The trigger's function is the owner's (SECURITY DEFINER), and no role holds any right to
  write the history, so it can be neither skipped nor forged nor rewritten. One exception, the
  owner's key rotation: an UPDATE on the owner's own login under its maintenance marker that
  changes nothing but encrypted columns is no new version (rotate_field_keys re-encrypts the
  history's copies itself; docs/chart.md "Key rotation of the history").
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic import roles
from clinic.db_checks import NOW_WINDOW, REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import ensure_functions, register_step, revoke_other_executors

NOW = NOW_WINDOW
PRIMARY_KEYS = {
    "chart_allergies": "allergy_id",
    "chart_problems": "problem_id",
    "chart_vital_signs": "vitals_id",
    "chart_medications": "medication_id",
    "chart_allergy_reviews": "patient_id",
}


def _item_rules(table: str, extra: str, *, final_status: str | None = None) -> str:
    key = PRIMARY_KEYS[table]
    final = ""
    if final_status:
        final = f"""
    IF OLD.{final_status} THEN
        {REFUSE} 'an entry marked entered in error stays as it is';
    END IF;"""
    return check_function(
        f"{table}_check_write",
        f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'a chart item is recorded by the caller';
        END IF;
        IF NEW.created_at NOT BETWEEN {NOW} OR NEW.updated_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'a chart item is recorded now';
        END IF;
    ELSE
        IF (NEW.{key}, NEW.patient_id, NEW.recorded_by_id, NEW.created_at)
           IS DISTINCT FROM (OLD.{key}, OLD.patient_id, OLD.recorded_by_id, OLD.created_at) THEN
            {REFUSE} 'the patient, author and creation time of a chart item never change';
        END IF;
        IF NEW.updated_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'a chart item is changed now';
        END IF;{final}
    END IF;{extra}""",
    )


ALLERGY_FUNCTION = _item_rules(
    "chart_allergies",
    f"""
    IF NEW.status = 'active' AND EXISTS (
        SELECT 1 FROM chart_allergy_reviews r
        WHERE r.patient_id = NEW.patient_id AND r.no_known_allergies) THEN
        {REFUSE} 'withdraw "no known allergies" before recording an allergy';
    END IF;""",  # noqa: S608 (constants only)
    final_status="status = 'entered_in_error'",
)

PROBLEM_FUNCTION = _item_rules(
    "chart_problems",
    f"""
    IF (TG_OP = 'INSERT' OR NEW.icd10_code IS DISTINCT FROM OLD.icd10_code)
       AND NOT clinic_icd10_billable(NEW.icd10_code) THEN
        {REFUSE} 'not a billable ICD-10-CM code';
    END IF;
    IF NEW.onset_date > clinic_today() OR NEW.resolved_on > clinic_today() THEN
        {REFUSE} 'a problem''s onset and resolution are not in the future';
    END IF;""",
)

VITALS_FUNCTION = _item_rules(
    "chart_vital_signs",
    f"""
    IF TG_OP = 'INSERT' AND NEW.taken_at > now() + interval '5 minutes' THEN
        {REFUSE} 'vital signs are not taken in the future';
    END IF;
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'entered_in_error' - 'updated_at')
       IS DISTINCT FROM (to_jsonb(OLD) - 'entered_in_error' - 'updated_at') THEN
        {REFUSE} 'measurements never change; mark them entered in error';
    END IF;""",
    final_status="entered_in_error",
)

MEDICATION_FUNCTION = _item_rules(
    "chart_medications", "", final_status="status = 'entered_in_error'"
)

REVIEW_FUNCTION = check_function(
    "chart_allergy_reviews_check_write",
    f"""
    IF NEW.recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'a statement about allergies is signed by the caller';
    END IF;
    IF NEW.updated_at NOT BETWEEN {NOW} THEN
        {REFUSE} 'a statement about allergies is made now';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.patient_id IS DISTINCT FROM OLD.patient_id THEN
        {REFUSE} 'the patient of a statement never changes';
    END IF;
    IF NEW.no_known_allergies AND EXISTS (
        SELECT 1 FROM chart_allergies a
        WHERE a.patient_id = NEW.patient_id AND a.status = 'active') THEN
        {REFUSE} 'an active allergy is on file';
    END IF;""",  # noqa: S608 (constants only)
)

CHECKS = {
    "chart_allergies": ALLERGY_FUNCTION,
    "chart_problems": PROBLEM_FUNCTION,
    "chart_vital_signs": VITALS_FUNCTION,
    "chart_medications": MEDICATION_FUNCTION,
    "chart_allergy_reviews": REVIEW_FUNCTION,
}

# TG_ARGV[0]: the item's primary-key column; TG_ARGV[1:]: its encrypted columns. The row is
# copied as stored: encrypted columns are ciphertext in it, decrypted by the application with the
# item column's own key and binding. One write is not a new version: the owner's key rotation
# (rotate_field_keys marks its transactions `clinic.maintenance = 'key_rotation'`), and only if
# nothing but encrypted columns changed; it re-encrypts the history's copies itself. The marker
# counts for the owner's login alone (session_user: no other login may become it), so a request
# setting it still leaves its trace.
HISTORY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION chart_history_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    stored jsonb := to_jsonb(NEW);
    before jsonb;
    after jsonb;
BEGIN
    IF TG_OP = 'UPDATE' AND session_user = '{roles.OWNER_ROLE}'
       AND current_setting('clinic.maintenance', true) = 'key_rotation' THEN
        before := to_jsonb(OLD);
        after := stored;
        FOR i IN 1 .. TG_NARGS - 1 LOOP
            before := before - TG_ARGV[i];
            after := after - TG_ARGV[i];
        END LOOP;
        IF before = after THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO public.chart_history
        (patient_id, item_table, item_id, operation, changed_by_id, changed_at, "row")
    VALUES (NEW.patient_id, TG_TABLE_NAME, stored ->> TG_ARGV[0], TG_OP, clinic_staff_id(),
            now(), stored);
    RETURN NULL;
END
$fn$"""  # noqa: S608 (constants only)


def _encrypted_columns(table: str) -> list[str]:
    from django.apps import apps

    from clinic.encryption import EncryptedFieldMixin

    model = next(m for m in apps.get_app_config("chart").get_models() if m._meta.db_table == table)
    return [
        str(f.column)
        for f in model._meta.local_concrete_fields
        if isinstance(f, EncryptedFieldMixin)
    ]


def _history_triggers(connection: BaseDatabaseWrapper) -> list[str]:
    statements = [HISTORY_FUNCTION]
    with connection.cursor() as cursor:
        for table, key in PRIMARY_KEYS.items():
            arguments = [key, *_encrypted_columns(table)]
            names = {
                "table": sql.Identifier(table),
                "arguments": sql.SQL(", ").join(sql.Literal(a) for a in arguments),
            }
            statements += [
                sql.SQL("DROP TRIGGER IF EXISTS chart_history_append ON {table}")
                .format(**names)
                .as_string(cursor.connection),
                sql.SQL(
                    "CREATE TRIGGER chart_history_append AFTER INSERT OR UPDATE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION chart_history_append({arguments})"
                )
                .format(**names)
                .as_string(cursor.connection),
            ]
        statements.append("REVOKE ALL ON FUNCTION chart_history_append() FROM PUBLIC")
    # A trigger's function: no role calls it (its owner's triggers do).
    done = ensure_functions(connection, "chart_history_append()", statements)
    return done + revoke_other_executors(connection, "chart_history_append()", ())


@register_step(order=40)
def chart_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for table, function in CHECKS.items():
        done += ensure_trigger_function(
            connection,
            f"{table}_check_write",
            function,
            table,
            f"{table}_check_write",
            "INSERT OR UPDATE",
        )
    return done + _history_triggers(connection)
