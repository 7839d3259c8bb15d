"""What the database checks on every write to `appointments` through the application's roles
(the owner's maintenance excepted, as everywhere):

- a booking is made by the verified caller (`booked_by_id = clinic_staff_id()`), now, as a
  fresh `booked` appointment that has not already ended, of an active type, at most 8 hours,
  in the clinician's working time: inside one weekly session (wall-clock times on the clinic's
  clocks, TIME_ZONE) or one extra session, and in no time off; a rescheduled time too;
- the one exception, an override: the front desk's role (no other) may book or move an
  appointment to a time outside working time, never in time off, naming a known reason
  category (`override_reason`; who is `booked_by` and the access log); an override of a time
  inside working time is refused, so the mark always means "outside", and a move back into
  working time clears it; the mark changes only with the time;
- the patient, clinician, type, booker, creation time and visit reason never change;
- the time changes only while the appointment is still `booked` (rescheduling), never into the
  past;
- the status moves only along the day's steps (Appointment.NEXT), each step by the role whose
  work it is (front desk: arrived, no-show, cancelled; clinician: in room, seen, done), stamped
  with its own time, now, once; a cancellation names a known reason category;
- a patient is checked in or marked a no-show only on the appointment's day, the clinic's
  (`clinic_today()`, TIME_ZONE), never the server's UTC date.
The exclusion constraints (models.py) refuse overlaps for every writer, the owner included.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

import scheduling.db_hours  # noqa: F401  (the working hours' own write check, found with these)
import scheduling.db_needs_new_time  # noqa: F401  (the rule "needs a new time", found with these)
import scheduling.db_schedule_versions  # noqa: F401  (the schedule versions, found with these)
from clinic import roles
from clinic.clinic_time import CLINIC_TODAY_ENDS, CLINIC_TODAY_STARTS
from clinic.db_checks import (
    NOW_WINDOW,
    REFUSE,
    check_function,
    ensure_trigger_function,
    sql_strings,
)
from clinic.provisioning import ensure_functions, register_step
from scheduling.models import WORKING_HOURS_IN_FORCE, Appointment

NOW = NOW_WINDOW
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]


def _stamp_checks() -> str:
    checks = []
    for status, column in Appointment.STAMPS.items():
        checks.append(f"""
    IF NEW.status = '{status}' AND OLD.status <> '{status}' THEN
        IF OLD.{column} IS NOT NULL OR NEW.{column} IS NULL OR NEW.{column} NOT BETWEEN {NOW} THEN
            {REFUSE} 'a step is stamped with its own time, now';
        END IF;
    ELSIF NEW.{column} IS DISTINCT FROM OLD.{column} THEN
        {REFUSE} 'a step''s time never changes';
    END IF;""")
    return "".join(checks)


def _placement_check() -> str:
    """Where a booking or a move may place an appointment: in working time with no override
    mark, or, with the mark, outside working time by the front desk's role for a known reason
    and never in time off. So the mark always means "outside" (a move back into working time
    clears it) and the clinician's role never places one outside."""
    overrides = sql_strings(code for code, _label in Appointment.OVERRIDE_REASONS)
    return f"""
        IF NEW.override_reason = '' THEN
            DECLARE
                inside boolean;
                checked bigint;
            BEGIN
                -- One statement, one snapshot: the schedule checked and its version
                -- (scheduling/db_schedule_versions.py).
                SELECT appointment_in_working_time(NEW.clinician_id, NEW.starts_at, NEW.ends_at),
                       clinic_schedule_version(NEW.clinician_id)
                  INTO inside, checked;
                IF NOT inside THEN
                    {REFUSE} 'outside the clinician''s working time';
                END IF;
                NEW.schedule_version := checked;
            END;
        ELSE
            NEW.schedule_version := NULL;
            IF current_user <> '{FRONT_DESK}' THEN
                {REFUSE} 'only the front desk places an appointment outside working time';
            END IF;
            IF NEW.override_reason NOT IN ({overrides}) THEN
                {REFUSE} 'a booking outside working time names a known reason';
            END IF;
            IF appointment_in_working_time(NEW.clinician_id, NEW.starts_at, NEW.ends_at) THEN
                {REFUSE} 'an override is for a time outside working time only';
            END IF;
            IF EXISTS (SELECT 1 FROM schedule_exceptions e
                       WHERE e.clinician_id = NEW.clinician_id AND e.kind = 'time_off'
                         AND e.starts_at < NEW.ends_at AND e.ends_at > NEW.starts_at) THEN
                {REFUSE} 'never in the clinician''s time off';
            END IF;
        END IF;
"""  # noqa: S608 (constants only)


def appointment_function() -> str:
    steps = ", ".join(
        f"('{before}', '{after}')"
        for before, afters in Appointment.NEXT.items()
        for after in afters
    )
    stamps = " OR ".join(f"NEW.{column} IS NOT NULL" for column in Appointment.STAMPS.values())
    reasons = sql_strings(code for code, _label in Appointment.CANCEL_REASONS)
    front_desk_steps = sql_strings(Appointment.FRONT_DESK_STEPS)
    clinician_steps = sql_strings(Appointment.CLINICIAN_STEPS)
    on_the_day = sql_strings(Appointment.ON_THE_DAY_STEPS)
    placement = _placement_check()
    return check_function(
        "appointments_check_write",
        f"""
    IF TG_OP = 'INSERT' THEN
        IF NEW.booked_by_id IS DISTINCT FROM clinic_staff_id() THEN
            {REFUSE} 'an appointment is booked by the caller';
        END IF;
        IF NEW.status <> '{Appointment.BOOKED}' OR {stamps} OR NEW.cancel_reason <> '' THEN
            {REFUSE} 'a new appointment is booked, with no step taken';
        END IF;
        IF NEW.created_at NOT BETWEEN {NOW} OR NEW.updated_at NOT BETWEEN {NOW} THEN
            {REFUSE} 'an appointment is booked now';
        END IF;
        IF NEW.ends_at <= now() THEN
            {REFUSE} 'an appointment cannot be booked after it has ended';
        END IF;
        IF NEW.ends_at > NEW.starts_at + interval '8 hours' THEN
            {REFUSE} 'an appointment lasts at most 8 hours';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM appointment_types t
                       WHERE t.id = NEW.appointment_type_id AND t.active) THEN
            {REFUSE} 'an appointment is of an active type';
        END IF;
{placement}        RETURN NEW;
    END IF;
    IF (NEW.appointment_id, NEW.patient_id, NEW.clinician_id, NEW.appointment_type_id,
        NEW.booked_by_id, NEW.created_at, NEW.visit_reason)
       IS DISTINCT FROM (OLD.appointment_id, OLD.patient_id, OLD.clinician_id,
        OLD.appointment_type_id, OLD.booked_by_id, OLD.created_at, OLD.visit_reason) THEN
        {REFUSE} 'who, with whom, what, by whom and why never change';
    END IF;
    IF NEW.updated_at NOT BETWEEN {NOW} THEN
        {REFUSE} 'an appointment is changed now';
    END IF;
    -- Set by this check only: kept unless the appointment moves (checked again below).
    NEW.schedule_version := OLD.schedule_version;
    IF (NEW.starts_at, NEW.ends_at) IS DISTINCT FROM (OLD.starts_at, OLD.ends_at) THEN
        IF OLD.status <> '{Appointment.BOOKED}' OR NEW.status <> '{Appointment.BOOKED}' THEN
            {REFUSE} 'only a booked appointment is rescheduled';
        END IF;
        IF NEW.ends_at <= now() OR NEW.ends_at > NEW.starts_at + interval '8 hours' THEN
            {REFUSE} 'an appointment is rescheduled to a time to come, of at most 8 hours';
        END IF;
{placement}    ELSIF NEW.override_reason IS DISTINCT FROM OLD.override_reason THEN
        {REFUSE} 'the override mark changes only with the time';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF (OLD.status, NEW.status) NOT IN ({steps}) THEN
            {REFUSE} 'not a step of the day';
        END IF;
        IF NEW.status IN ({front_desk_steps}) AND current_user <> '{FRONT_DESK}'
           OR NEW.status IN ({clinician_steps}) AND current_user <> '{CLINICIAN}'
        THEN
            {REFUSE} 'this step is another role''s';
        END IF;
        IF NEW.status IN ({on_the_day}) AND (OLD.starts_at < {CLINIC_TODAY_STARTS}
                                            OR OLD.starts_at >= {CLINIC_TODAY_ENDS}) THEN
            {REFUSE} 'check-in and no-show only on the appointment''s day';
        END IF;
    END IF;
    IF NEW.status = '{Appointment.CANCELLED}' AND OLD.status <> '{Appointment.CANCELLED}' THEN
        IF NEW.cancel_reason NOT IN ({reasons}) THEN
            {REFUSE} 'a cancellation has a known reason';
        END IF;
    ELSIF NEW.cancel_reason IS DISTINCT FROM OLD.cancel_reason THEN
        {REFUSE} 'only a cancellation gives a reason';
    END IF;{_stamp_checks()}""",  # noqa: S608 (constants only)
    )


STARTS_DAY = "(p_starts AT TIME ZONE {zone})::date"


def working_time_function(zone: str) -> sql.Composed:
    """`appointment_in_working_time(clinician, starts, ends)`: the time lies inside one weekly
    session on the clinic's clocks (of the hours in force that day), or inside one extra
    session, and in no time off. SECURITY INVOKER: it reads the schedule with the caller's
    rights (the front desk's, which cover the columns it reads). scheduling/slots.py offers
    only such times."""
    zoneinfo.ZoneInfo(zone)  # a real zone, or ZoneInfoNotFoundError
    return sql.SQL(
        """
CREATE OR REPLACE FUNCTION appointment_in_working_time(
    p_clinician integer, p_starts timestamptz, p_ends timestamptz)
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $fn$
SELECT (
    EXISTS (
        SELECT 1 FROM working_hours w
        WHERE w.clinician_id = p_clinician
          AND w.weekday = extract(isodow FROM p_starts AT TIME ZONE {zone})::integer - 1
          AND (p_ends AT TIME ZONE {zone})::date = (p_starts AT TIME ZONE {zone})::date
          AND (p_starts AT TIME ZONE {zone})::time >= w.starts_at
          AND (p_ends AT TIME ZONE {zone})::time <= w.ends_at
          AND IN_FORCE)
    OR EXISTS (
        SELECT 1 FROM schedule_exceptions e
        WHERE e.clinician_id = p_clinician AND e.kind = 'extra_session'
          AND e.starts_at <= p_starts AND e.ends_at >= p_ends)
) AND NOT EXISTS (
    SELECT 1 FROM schedule_exceptions e
    WHERE e.clinician_id = p_clinician AND e.kind = 'time_off'
      AND e.starts_at < p_ends AND e.ends_at > p_starts)
$fn$""".replace("IN_FORCE", WORKING_HOURS_IN_FORCE.format(day=STARTS_DAY))
    ).format(zone=sql.Literal(zone))


@register_step(order=40)
def appointment_write_checks(connection: BaseDatabaseWrapper) -> list[str]:
    with connection.cursor() as cursor:
        working_time = working_time_function(settings.TIME_ZONE).as_string(cursor.connection)
    done = ensure_functions(
        connection, "appointment_in_working_time(integer, timestamptz, timestamptz)", [working_time]
    )
    return done + ensure_trigger_function(
        connection,
        "appointments_check_write",
        appointment_function(),
        "appointments",
        "appointments_check_write",
        "INSERT OR UPDATE",
    )
