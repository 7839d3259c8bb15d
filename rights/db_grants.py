"""Database rights and row-level security on access requests (docs/rights.md).

- Privacy officer: records requests, extends, records exports and the hand-over, closes them;
  reads every request (the console lists them all). No DELETE: a request is never removed.
- Administrator: nothing. It manages accounts, not patients; what a patient asked for names
  clinical facts and is none of its business (the access log tells it nothing either).
- Front desk, clinician, analyst: nothing, no row and no column.
Columns the privacy officer may change after the INSERT are only those of the later steps;
rights/db_checks.py decides which step may change them and how.
FORCE ROW LEVEL SECURITY: the owner is subject too, through a policy of its own.

The privacy officer reads a patient's visits and notes only while an open access request for
that patient exists: the policy `privacy_officer_reads_for_access_request` on
`clinical_records` (records/db_grants.py, OPEN_ACCESS_REQUEST below) and the demographics
function `access_request_demographics` (rights/db_checks.py).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.provisioning import (
    add_role_grants,
    register_step,
)
from clinic.role_gate import gates_itself
from clinic.roles import grant
from rights.db_policies import OWNER_MAINTAINS, PRIVACY_OFFICER_KEEPS, ensure_table_security

TABLE = "access_requests"
LATER_STEPS = (
    "due_on",
    "extended_on",
    "extended_by_id",
    "extension_reason",
    "pdf_sha256",
    "fhir_sha256",
    "handed_over_on",
    "outcome",
    "denial_ground",
    "outcome_note",
    "closed_on",
    "closed_by_id",
)

POLICIES = {
    "privacy_officer_keeps": PRIVACY_OFFICER_KEEPS,
    "owner_maintains": OWNER_MAINTAINS,
}

add_role_grants(
    "clinic_privacy_officer",
    [
        grant("SELECT, INSERT", TABLE),
        grant("UPDATE", TABLE, *LATER_STEPS),
        # The designated record set (164.501): read through the row policy on clinical_records
        # that asks for an open access request (records/db_grants.py).
        grant("SELECT", "clinical_records"),
    ],
)
gates_itself(TABLE)


@register_step(order=10)
def rights_security(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_table_security(connection, TABLE, POLICIES)


# The addenda and the chart of an open request's patient (SECURITY DEFINER functions), and
# amendment requests (164.526), restrictions and confidential communications (164.522), and
# what the visit summary reads of a denied amendment.
from rights import (  # noqa: E402, F401
    db_amendment_entries,
    db_amendments,
    db_communications,
    db_record_set,
    db_restrictions,
    db_visit_summary,
)
