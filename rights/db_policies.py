"""Row-level security as every table of the rights app has it: FORCE ROW LEVEL SECURITY, the
table's own policies, and the role gate's (clinic/role_gate.py: a session acts for its verified
caller only). The two policies most of them share are named here once: the privacy officer
keeps the table (its write checks bind each row to the caller) and the owner maintains it
(migrations, provisioning)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_policies, ensure_row_level_security
from clinic.role_gate import gate_policies

PRIVACY_OFFICER_KEEPS = (
    f"AS PERMISSIVE FOR ALL TO {roles.GROUP_ROLES[roles.PRIVACY_OFFICER]} "
    "USING (true) WITH CHECK (true)"
)
OWNER_MAINTAINS = "AS PERMISSIVE FOR ALL TO clinic_owner USING (true) WITH CHECK (true)"


def ensure_table_security(
    connection: BaseDatabaseWrapper, table: str, policies: dict[str, str]
) -> list[str]:
    done = ensure_row_level_security(connection, table)
    return done + ensure_policies(connection, table, {**policies, **gate_policies(table)})
