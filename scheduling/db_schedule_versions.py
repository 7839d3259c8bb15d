"""Which bookings could have left working time since they were checked (issue 17, "Speed").

`appointment_in_working_time(clinician, starts, ends)` reads nothing but that clinician's rows of
`working_hours` and `schedule_exceptions`. So:
- every write to either table (any role, the owner's maintenance included) increments the
  clinician's row of `clinician_schedule_versions` (`schedule_version_bump`, an AFTER trigger
  running as the owner; a row moved to another clinician bumps both);
- the appointments' write check (scheduling/db_checks.py), when it checks a booking or a move
  in working time, records in `appointments.schedule_version` the version it read **in the same
  statement** as the check, so from the same snapshot: `clinic_schedule_version(clinician)`,
  0 for a clinician whose schedule was never written since this table existed. A change the
  check did not see commits with a higher version, so the booking's recorded version is then
  stale. The write check sets the column itself on every write by a web role (an UPDATE that
  does not move the appointment keeps the old value), so SQL on the connection cannot mark a
  booking as checked.
- an appointment whose recorded version is its clinician's current one cannot be outside
  working time unless it was placed there with an override (which the rule excludes anyway):
  `STALE` is the cheap test the readers put before the rule (scheduling/needs_new_time.py).
  NULL (booked before this, or written by the owner, whose maintenance the write check exempts)
  is always stale: the rule decides.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import add_role_grants, ensure_function, register_step
from clinic.roles import grant

TABLE = "clinician_schedule_versions"
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
SCHEDULE_TABLES = ("working_hours", "schedule_exceptions")

# The front desk reads the versions for the pre-filter (counters, nothing else).
add_role_grants(FRONT_DESK, [grant("SELECT", TABLE)])

VERSION_SIGNATURE = "clinic_schedule_version(integer)"
VERSION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION clinic_schedule_version(p_clinician integer) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT coalesce((SELECT v.version FROM public.{TABLE} v WHERE v.clinician_id = p_clinician), 0)
$fn$"""  # noqa: S608 (constants only)

BUMP_SIGNATURE = "schedule_version_bump()"
BUMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION schedule_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    touched integer[];
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        touched := touched || OLD.clinician_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        touched := touched || NEW.clinician_id;
    END IF;
    INSERT INTO public.{TABLE} AS v (clinician_id, version)
    SELECT DISTINCT c, 1 FROM unnest(touched) AS c
    ON CONFLICT (clinician_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$fn$"""  # noqa: S608 (constants only)


def stale(alias: str = "appointments") -> str:
    """SQL: the appointment (table or alias `alias`) may have left working time since it was
    checked (see above); the rule decides for these only."""
    version = (
        f"SELECT v.version FROM public.{TABLE} v "  # noqa: S608 (our own alias, never input)
        f"WHERE v.clinician_id = {alias}.clinician_id"
    )
    return f"{alias}.schedule_version IS DISTINCT FROM coalesce(({version}), 0)"


@register_step(order=39)  # before the appointments' write check (scheduling/db_checks.py, 40)
def schedule_versions(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_function(connection, VERSION_SIGNATURE, VERSION_FUNCTION, [FRONT_DESK, CLINICIAN])
    done += ensure_function(connection, BUMP_SIGNATURE, BUMP_FUNCTION)
    with connection.cursor() as cursor:
        for table in SCHEDULE_TABLES:
            trigger = f"{table}_schedule_version"
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = to_regclass(%s)",
                [trigger, table],
            )
            if cursor.fetchone() is None:
                statement = (
                    f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION schedule_version_bump()"
                )
                cursor.execute(statement)
                done.append(statement)
    return done
