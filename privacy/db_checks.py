"""What the database checks on writes to disclosures through the application's roles: the
disclosure and its suspension are recorded by the verified caller (the owner's maintenance
excepted). The privacy officer's column grants already keep the rest of a disclosure fixed."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.db_checks import ensure_trigger_function
from clinic.provisioning import register_step

REFUSE = "RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE ="

DISCLOSURE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION disclosures_check_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF current_user = '{roles.OWNER_ROLE}' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'a disclosure is recorded by the caller';
    END IF;
    IF TG_OP = 'UPDATE'
       AND (NEW.suspended_until, NEW.suspension_kind, NEW.suspension_stated_on,
            NEW.suspension_statement)
           IS DISTINCT FROM (OLD.suspended_until, OLD.suspension_kind, OLD.suspension_stated_on,
            OLD.suspension_statement)
       AND NEW.suspension_recorded_by_id IS DISTINCT FROM clinic_staff_id() THEN
        {REFUSE} 'a suspension is recorded by the caller';
    END IF;
    RETURN NEW;
END
$fn$"""


@register_step(order=40)
def disclosure_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "disclosures_check_write",
        DISCLOSURE_FUNCTION,
        "disclosures",
        "disclosures_check_write",
        "INSERT OR UPDATE",
    )
