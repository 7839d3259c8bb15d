"""Database rights and row-level security on appointments (docs/scheduling.md, role matrix).

- Front desk: books, reschedules, cancels, checks in and marks no-shows; sees every appointment
  (scheduling needs the whole clinic's day) but not the visit reason: it may write the reason
  the patient gives when booking, and holds no SELECT right on that column, so it cannot read
  it back. Reads appointment types, working hours and exceptions (not the exception's note).
- Clinician: reads their own appointments (visit reason included) and moves them through the
  flow states (in room, seen, done); nothing of other clinicians' appointments.
- Administrator: appointment types, working hours and exceptions (the admin site); no
  appointment.
- Privacy officer: who was booked with whom and when (PRIVACY_OFFICER_COLUMNS, never the type
  or visit reason), so the flag "charts viewed outside the care team" and the access report
  count a chart opened through that day's appointment as the care team it was.
- Analyst: nothing here (the rollups are read through analytics' own relations).
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.provisioning import (
    add_role_grants,
    ensure_policies,
    ensure_row_level_security,
    register_step,
)
from clinic.role_gate import gate_policies, gates_itself
from clinic.roles import ALL_DML, grant
from clinic.staff_identity import STAFF_ID

TABLE = "appointments"
COLUMNS = (
    "appointment_id",
    "patient_id",
    "clinician_id",
    "appointment_type_id",
    "starts_at",
    "ends_at",
    "status",
    "arrived_at",
    "in_room_at",
    "seen_at",
    "done_at",
    "no_show_at",
    "cancelled_at",
    "cancel_reason",
    "override_reason",
    "booked_by_id",
    "created_at",
    "updated_at",
)
# What the front desk changes: the time (rescheduling, with the override mark when the new time
# is outside working time: db_checks.py) and its own steps of the day.
FRONT_DESK_UPDATES = (
    "starts_at",
    "ends_at",
    "override_reason",
    "status",
    "arrived_at",
    "no_show_at",
    "cancelled_at",
    "cancel_reason",
    "updated_at",
)
CLINICIAN_UPDATES = ("status", "in_room_at", "seen_at", "done_at", "updated_at")

OWN = f"clinician_id = {STAFF_ID}"
APPOINTMENT_POLICIES = {
    "front_desk_reads": "AS PERMISSIVE FOR SELECT TO clinic_front_desk USING (true)",
    "front_desk_books": f"AS PERMISSIVE FOR INSERT TO clinic_front_desk "
    f"WITH CHECK (booked_by_id = {STAFF_ID})",
    "front_desk_changes": "AS PERMISSIVE FOR UPDATE TO clinic_front_desk "
    "USING (true) WITH CHECK (true)",
    "clinician_reads_own": f"AS PERMISSIVE FOR SELECT TO clinic_clinician USING ({OWN})",
    "clinician_moves_own": f"AS PERMISSIVE FOR UPDATE TO clinic_clinician "
    f"USING ({OWN}) WITH CHECK ({OWN})",
    "privacy_officer_reads": "AS PERMISSIVE FOR SELECT TO clinic_privacy_officer USING (true)",
    # The analyst's rollups (analytics/appointment_rollups.py): counts only, suppressed there.
    "analytics_owner_reads": "AS PERMISSIVE FOR SELECT TO clinic_analytics_owner USING (true)",
    "owner_maintains": "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)",
}
# What the privacy officer reads to tell a chart opened through an appointment (care team by
# appointment) from one opened with no relationship (privacy/selectors.py): who was booked with
# whom, when, and when the booking stopped counting. No type, no visit reason, no steps.
PRIVACY_OFFICER_COLUMNS = (
    "appointment_id",
    "patient_id",
    "clinician_id",
    "starts_at",
    "status",
    "created_at",
    "no_show_at",
    "cancelled_at",
)

add_role_grants(
    "clinic_front_desk",
    [
        # And the schedule version its write check recorded (the rule's pre-filter,
        # scheduling/db_schedule_versions.py); only that check ever sets it.
        grant("SELECT", TABLE, *COLUMNS, "schedule_version"),
        grant("INSERT", TABLE),
        grant("UPDATE", TABLE, *FRONT_DESK_UPDATES),
        grant("SELECT", "appointment_types"),
        grant("SELECT", "working_hours"),
        grant(
            "SELECT", "schedule_exceptions", "id", "clinician_id", "kind", "starts_at", "ends_at"
        ),
    ],
)
add_role_grants(
    "clinic_clinician",
    [
        grant("SELECT", TABLE),
        grant("UPDATE", TABLE, *CLINICIAN_UPDATES),
        grant("SELECT", "appointment_types"),
    ],
)
add_role_grants("clinic_privacy_officer", [grant("SELECT", TABLE, *PRIVACY_OFFICER_COLUMNS)])
add_role_grants(
    "clinic_admin",
    [
        grant(ALL_DML, "appointment_types"),
        grant(ALL_DML, "working_hours"),
        grant(ALL_DML, "schedule_exceptions"),
    ],
)
gates_itself(TABLE)


@register_step(order=10)
def scheduling_security(connection: BaseDatabaseWrapper) -> list[str]:
    done = ensure_row_level_security(connection, TABLE)
    done += ensure_policies(connection, TABLE, {**APPOINTMENT_POLICIES, **gate_policies(TABLE)})
    return done


@register_step(order=11)
def appointments_refused_patient(connection: BaseDatabaseWrapper) -> list[str]:
    """A refused appointment is tied to its patient (clinic/refused_patient)."""
    from clinic.refused_patient import ensure_refused_patient_function

    return ensure_refused_patient_function(connection, "appointment")
