"""What the visit summary reads beyond the clinician's own rights: the written record of a denied
amendment of the visit's note (164.526(d)(4), (5): the request, the denial, the statement of
disagreement and the rebuttal are linked to the note and go with every later disclosure of it).

Clinicians read `amendment_requests` only where a request is routed to them (rights/
db_amendments.py), so a care-team clinician who is not the note's author would print the note
without them. `visit_amendment_statements(record_id)` — SECURITY DEFINER, `RETURNS SETOF
amendment_requests` (the rows as stored, free text still ciphertext) — gives the verified
clinician the **denied** requests of that visit, and only while they may see its patient (the
clinical record's own condition, records/db_grants.py `clinician_may_see`: care team today or a
break-the-glass grant). EXECUTE is granted to the clinician's role only.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_function, register_step
from records.db_grants import clinician_may_see
from rights.models import DENIED

CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
FUNCTION = "visit_amendment_statements"
SIGNATURE = f"{FUNCTION}(uuid)"
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(p_record uuid)
RETURNS SETOF public.amendment_requests
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT a.* FROM public.amendment_requests a
WHERE a.record_id = p_record AND a.outcome = '{DENIED}'
  AND clinic_staff_role() = '{CLINICIAN}' AND clinic_staff_id() IS NOT NULL
  AND {clinician_may_see("a.patient_id")}
$fn$"""  # noqa: S608 (constants only)


@register_step(order=42)
def visit_summary_statements(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_function(connection, SIGNATURE, FUNCTION_SQL, [CLINICIAN])
