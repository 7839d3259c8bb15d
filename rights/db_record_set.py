"""The rest of the designated record set for an open access request: addenda to visit notes, the
chart (problems, allergies and the "no known allergies" statement, medications, vital signs) and
the accepted amendments of chart entries and demographic fields.

The privacy officer holds no right on these tables (records/db_grants.py, chart/db_grants.py:
they are the clinicians'). For an export it reads them through one SECURITY DEFINER function per
table, `access_request_<what>(request_id)`, which answers only the verified privacy officer, only
for an open access request, and only with that request's patient's rows, as stored (free text
still ciphertext: only the application's keys read it). `RETURNS SETOF <table>`: the rows have
the table's own shape, so the application reads them as its models (a raw query), and a column
added to the table later is carried without a change here. Everyone else: no EXECUTE right.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_function, register_step
from rights.models import OPEN

PRIVACY_OFFICER = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]

# Function suffix -> table (each table has a `patient_id` column).
TABLES = {
    "addenda": "visit_addenda",
    "problems": "chart_problems",
    "allergies": "chart_allergies",
    "allergy_review": "chart_allergy_reviews",
    "medications": "chart_medications",
    "vital_signs": "chart_vital_signs",
    # Accepted amendments of chart entries and demographic fields (164.526(c)(1)).
    "amendment_entries": "amendment_entries",
}


def function_name(what: str) -> str:
    return f"access_request_{what}"


def function_sql(what: str) -> str:
    table = TABLES[what]
    return f"""
CREATE OR REPLACE FUNCTION {function_name(what)}(p_request uuid)
RETURNS SETOF public.{table}
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
SELECT t.* FROM public.{table} t
JOIN public.access_requests ar ON ar.patient_id = t.patient_id
WHERE ar.request_id = p_request AND ar.outcome = '{OPEN}'
  AND clinic_staff_role() = '{PRIVACY_OFFICER}' AND clinic_staff_id() IS NOT NULL
$fn$"""  # noqa: S608 (constants only)


@register_step(order=41)
def access_request_record_set(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for what in TABLES:
        signature = f"{function_name(what)}(uuid)"
        done += ensure_function(connection, signature, function_sql(what), [PRIVACY_OFFICER])
    return done
