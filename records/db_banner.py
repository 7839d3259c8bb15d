"""The break-the-glass banner's grants, read by the request's role switch (issue 23).

Every page a clinician opens shows their active break-the-glass grants (records/break_glass.py,
the banner). That read was a statement of its own on every clinician page. The role switch
(clinic/db_context.py `CONTEXT_SQL`) now asks for them in its own statement, as its last column:
PostgreSQL evaluates a plain target list left to right, so the function runs after the switch's
`set_config` calls have named the clinician, and reads their verified staff id.

`clinic_banner_grants()` is SECURITY DEFINER and returns, as JSON, the grant id, reason category
and expiry of the active grants of the staff member the transaction's verified token names, and
only when that token names the clinician role: nothing for any other role, for the bare web
login's token (the user's own load), or with no token. The web login may execute it (it is the
role that runs the switch's statement), which lets SQL injected into a page read no more than
that page's clinician could already read (their own grants: records/db_grants.py
`clinician_own_grants`). Tested with the attacker's SQL in tests/test_break_glass_banner.py.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_function, register_step
from clinic.staff_identity import STAFF_ID, STAFF_ROLE
from records.db_grants import active_grant

CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
SIGNATURE = "clinic_banner_grants()"
# VOLATILE (the default): never evaluated ahead of the statement's set_config calls.
# PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and its body was planned
# again on every call (0.37 ms of its 0.45 ms a clinician page, pg_stat_user_functions);
# PL/pgSQL keeps the plan for the session, and the verified staff id and role are read at each
# execution (InitPlans), never kept in the plan (docs/benchmarks.md, "The banner's grants").
FUNCTION = f"""
CREATE OR REPLACE FUNCTION clinic_banner_grants() RETURNS json
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
BEGIN
    RETURN (
        SELECT coalesce(json_agg(json_build_array(bg.grant_id, bg.reason_category, bg.expires_at)
                                 ORDER BY bg.expires_at), '[]'::json)
        FROM break_glass_grants bg
        WHERE {STAFF_ROLE} = '{CLINICIAN}' AND {active_grant(STAFF_ID)});
END
$fn$"""  # noqa: S608  (constants of the code, no input)


@register_step(order=12)  # after the grants' table and its policies (records/db_grants.py, 10-11)
def banner_grants_function(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_function(connection, SIGNATURE, FUNCTION, [roles.WEB_ROLE])
