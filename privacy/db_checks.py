"""What the database checks on writes to disclosures through the application's roles: the
disclosure and its suspension are recorded by the verified caller (the owner's maintenance
excepted). The privacy officer's column grants already keep the rest of a disclosure fixed."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.db_checks import REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import register_step

DISCLOSURE_FUNCTION = check_function(
    "disclosures_check_write",
    f"""
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
    END IF;""",
)


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
