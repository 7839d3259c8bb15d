"""Care team by appointment: a patient with a live appointment (not cancelled, not a no-show)
with a clinician that starts today, the clinic's day, is on that clinician's care team for the
day. records/db_grants.py adds this condition to `clinician_may_see`, so the row-level security
of clinical records, `clinic_clinician_may_see()` (patients) and the chart's own check
(records/access.py) all ask the same SQL; nothing here imports records.

Cost: a correlated EXISTS probed through the index `appointments_clinician_day`
(clinician_id, starts_at), a few rows per clinician per day; the day's bounds and the verified
staff id are sub-selects the planner evaluates once per query (InitPlans).
"""

from __future__ import annotations

from clinic.clinic_time import CLINIC_TODAY_ENDS, CLINIC_TODAY_STARTS
from clinic.db_checks import sql_strings
from clinic.staff_identity import STAFF_ID
from scheduling.models import Appointment


def _clinicians_day() -> str:
    """SQL: `ap` is an appointment of the signed-in clinician that starts today."""
    return (
        f"ap.clinician_id = {STAFF_ID}"
        f" AND ap.starts_at >= {CLINIC_TODAY_STARTS} AND ap.starts_at < {CLINIC_TODAY_ENDS}"
    )


def _live() -> str:
    """SQL: `ap` is live (neither cancelled nor a no-show)."""
    return f"ap.status NOT IN ({sql_strings(Appointment.NOT_LIVE)})"


def booked_today(patient_id_column: str) -> str:
    """SQL: the signed-in clinician has a live appointment today with the patient in
    `patient_id_column`. The appointments' own row-level security applies as well (a clinician
    reads only their own appointments), so the two agree."""
    return (
        "EXISTS (SELECT 1 FROM appointments ap"  # noqa: S608 (constants of the code, never input)
        f" WHERE {_clinicians_day()} AND ap.patient_id = {patient_id_column} AND {_live()})"
    )


def booked_today_patients() -> str:
    """SQL: the patients of the signed-in clinician's live appointments today, a sub-select of
    `ap.patient_id` (the same condition as `booked_today`, for `patient_id IN (...)`)."""
    return f"SELECT ap.patient_id FROM appointments ap WHERE {_clinicians_day()} AND {_live()}"  # noqa: S608
