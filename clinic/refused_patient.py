"""Which patient a refused request concerned, so the refusal lands in that patient's access
report (issue 16, item 6): a clinician outside the care team asking for a visit by its id, a
front-desk user opening a visit, someone probing another clinician's appointment or grant.

The row itself is hidden from the caller by row-level security or grants, so the app asks the
database through one SECURITY DEFINER function per table, `clinic_refused_<name>_patient(id)`,
owned by the owner. Each returns only the patient id of the row with that primary key, and only
to a verified staff identity (`clinic_staff_id()` set; the bare web login gets NULL); it
returns no column of the patient and nothing for an id that does not exist. It tells an
injected statement no more than the refusal page does: the 403 page for a visit outside the care
team links to break the glass for that patient, and a caller must already hold the row's UUID.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_function
from clinic.staff_identity import STAFF_ID

# The rows a refusal may be tied to by id: name -> (table, primary key column).
REFUSED_PATIENT_FUNCTIONS = {
    "record": ("clinical_records", "record_id"),
    "break_glass_grant": ("break_glass_grants", "grant_id"),
    "appointment": ("appointments", "appointment_id"),
}


def _signature(name: str) -> str:
    return f"clinic_refused_{name}_patient(uuid)"


def ensure_refused_patient_function(connection: BaseDatabaseWrapper, name: str) -> list[str]:
    """The function for the table registered as `name` (it has a `patient_id` column)."""
    table, key = REFUSED_PATIENT_FUNCTIONS[name]
    signature = _signature(name)
    body = (
        # Names from the calling app's constants (records, scheduling), never from input.
        f"CREATE OR REPLACE FUNCTION clinic_refused_{name}_patient(p_id uuid) RETURNS uuid "  # noqa: S608
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS "
        f"$fn$ SELECT t.patient_id FROM public.{table} t "
        f"WHERE t.{key} = p_id AND {STAFF_ID} IS NOT NULL $fn$"
    )
    return ensure_function(connection, signature, body, [roles.SIGNED_IN_ROLE])


def refused_patient_id(name: str, object_id: Any) -> uuid.UUID | None:
    """The patient of the row `object_id` of the table registered as `name`, or None."""
    if not isinstance(object_id, uuid.UUID) or name not in REFUSED_PATIENT_FUNCTIONS:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT clinic_refused_{name}_patient(%s)", [object_id])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None
