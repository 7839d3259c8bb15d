"""What the database checks on every write to `working_hours` through the application's roles
(the administrator's is the only one with rights on it; the owner's maintenance is exempt, as
everywhere): the past keeps the hours that were in force then.

A row that was in force on a day before today (the clinic's, `clinic_today()`: its `valid_from`
is empty or before today) is history: the availability of past months
(analytics/appointment_rollups.py) and the working-time check of past bookings read it. So:
- such a row never changes its clinician, weekday, times or first day, and is never deleted;
  it may only be ended, from yesterday on (`valid_until` on or after yesterday), and only while
  it has not already ended before that;
- a new row starts today or later (`valid_from` set, on or after today): hours are never added
  to past days.
Changing a clinician's hours from a day on is therefore: end the old row the day before, add a
row from that day (the administrator's "Apply from" field does both in one transaction,
scheduling/admin.py). A row that starts today or later may be edited or deleted freely until
that day has passed.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.clinic_time import CLINIC_TODAY
from clinic.db_checks import REFUSE, check_function, ensure_trigger_function
from clinic.provisioning import register_step

FUNCTION = check_function(
    "working_hours_check_write",
    f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.valid_from IS NULL OR NEW.valid_from < {CLINIC_TODAY} THEN
            {REFUSE} 'working hours start today or later: the past keeps its hours';
        END IF;
        RETURN NEW;
    END IF;
    -- In force on a day before today: history.
    IF OLD.valid_from IS NULL OR OLD.valid_from < {CLINIC_TODAY} THEN
        IF TG_OP = 'DELETE' THEN
            {REFUSE} 'working hours in force before today are ended, never deleted';
        END IF;
        IF (NEW.clinician_id, NEW.weekday, NEW.starts_at, NEW.ends_at)
               IS DISTINCT FROM (OLD.clinician_id, OLD.weekday, OLD.starts_at, OLD.ends_at)
           OR NEW.valid_from IS DISTINCT FROM OLD.valid_from THEN
            {REFUSE} 'working hours in force before today only end: add new hours from a day on';
        END IF;
        IF NEW.valid_until IS DISTINCT FROM OLD.valid_until AND (
               NEW.valid_until IS NULL OR NEW.valid_until < {CLINIC_TODAY} - 1
               OR (OLD.valid_until IS NOT NULL AND OLD.valid_until < {CLINIC_TODAY})) THEN
            {REFUSE} 'working hours end from yesterday on, and an ended row stays ended';
        END IF;
    ELSIF TG_OP = 'UPDATE' AND (NEW.valid_from IS NULL OR NEW.valid_from < {CLINIC_TODAY}) THEN
        {REFUSE} 'working hours start today or later: the past keeps its hours';
    END IF;""",
)


@register_step(order=41)
def working_hours_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_trigger_function(
        connection,
        "working_hours_check_write",
        FUNCTION,
        "working_hours",
        "working_hours_check_write",
        "INSERT OR UPDATE OR DELETE",
    )
