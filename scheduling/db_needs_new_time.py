"""The rule "this booking needs a new time" in the database, and the administrator's count
(scheduling/needs_new_time.py says who reads them and how; docs/scheduling.md).

- `appointment_needs_new_time(status, override_reason, clinician, starts, ends)`: booked,
  starting after now, no override mark, and `NOT appointment_in_working_time(...)` (the
  booking's own check, scheduling/db_checks.py). SECURITY INVOKER: it reads the schedule with
  the caller's rights; EXECUTE for the front desk only (the other web roles hold no right on
  working hours anyway).
- `appointments_needing_new_time(clinician)`: SECURITY DEFINER, owned like the other functions
  (the owner, whose policy on appointments lets it read them): the NUMBER of that clinician's
  booked appointments that need a new time, nothing else; EXECUTE for the administrator's role
  only, and it answers only a verified administrator (anyone else: 0 rows counted).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_function, register_step
from clinic.staff_identity import STAFF_ID, STAFF_ROLE
from scheduling.db_schedule_versions import stale
from scheduling.models import Appointment

FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
ADMINISTRATOR = roles.GROUP_ROLES[roles.ADMINISTRATOR]

# No SET search_path (every name qualified instead): a function with one makes PostgreSQL call
# it row by row, re-planning appointment_in_working_time's query at each call (158 us a row
# measured, against 34 us inlined into the caller's query, which it now is).
RULE_SIGNATURE = "appointment_needs_new_time(text, text, integer, timestamptz, timestamptz)"
RULE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION appointment_needs_new_time(
    p_status text, p_override text, p_clinician integer, p_starts timestamptz, p_ends timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
SELECT CASE WHEN p_status = '{Appointment.BOOKED}' AND p_override = ''
                 AND p_starts > pg_catalog.now()
            THEN NOT public.appointment_in_working_time(p_clinician, p_starts, p_ends)
            ELSE false END
$fn$"""  # noqa: S608 (constants only)

COUNT_SIGNATURE = "appointments_needing_new_time(integer)"
# The owner reads the clinician's booked appointments to come (the administrator may not) and
# answers with their number only, to the verified administrator only.
COUNT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION appointments_needing_new_time(p_clinician integer)
RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT count(*)::integer FROM public.appointments a
WHERE a.clinician_id = p_clinician AND a.status = '{Appointment.BOOKED}' AND a.starts_at > now()
  AND {stale("a")}
  AND appointment_needs_new_time(a.status, a.override_reason, a.clinician_id,
                                 a.starts_at, a.ends_at)
  AND {STAFF_ROLE} = '{ADMINISTRATOR}' AND {STAFF_ID} IS NOT NULL
$fn$"""  # noqa: S608 (constants only)


@register_step(order=42)  # after appointment_in_working_time (scheduling/db_checks.py, 40)
def needs_new_time_functions(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_function(connection, RULE_SIGNATURE, RULE_FUNCTION, [FRONT_DESK])
    return done + ensure_function(connection, COUNT_SIGNATURE, COUNT_FUNCTION, [ADMINISTRATOR])
