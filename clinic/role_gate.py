"""A group role's rights are usable only by a request whose verified role is that group.

The web login is a member of every group role (it switches per request), so SQL injected into
one user's request could `SET ROLE` to another group. Every table on which a group role holds a
right (PHI, and as much the user, group and MFA tables the administrator manages, or the
lockouts the privacy officer clears) carries a RESTRICTIVE policy, for each such group role,
that compares the role in force with the role in the request's verified staff token
(clinic/staff_identity.py): an analyst's request that switches to the administrator's role, or
a request before sign-in that switches to the front desk, then sees no row and may write none.
Restrictive policies AND with the permissive ones, so a group's own rules (care team, break the
glass) still decide within its role.

Every such table is gated here, from the declared grants, with permissive policies that keep
each role's grants as they are; a table whose app declares its own policies is named with
`gates_itself(table)` and merges `gate_policies(table)` into them (ensure_policies drops
undeclared ones). Views cannot carry row-level security: the analyst's relations are gated in
their own definition (analytics/db_grants.py).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import (
    declared_grants,
    ensure_policies,
    ensure_row_level_security,
    register_step,
)
from clinic.staff_identity import ROLE_IN_FORCE_IS_VERIFIED

# Tables whose app declares its own policies (and merges gate_policies into them).
_SELF_GATED: set[str] = set()


def gates_itself(*tables: str) -> None:
    _SELF_GATED.update(tables)


def group_granted_tables() -> list[str]:
    """Every relation a group role holds a right on, by the declared grants."""
    group_roles = set(roles.GROUP_ROLES.values())
    return sorted(
        {
            g.table
            for role, grants in declared_grants().items()
            if role in group_roles
            for g in grants
        }
    )


def _roles_granted(table: str) -> list[str]:
    return sorted(
        role for role, grants in declared_grants().items() if any(g.table == table for g in grants)
    )


def gate_policies(table: str) -> dict[str, str]:
    groups = [role for role in _roles_granted(table) if role in roles.GROUP_ROLES.values()]
    if not groups:
        return {}
    check = f"({ROLE_IN_FORCE_IS_VERIFIED})"
    return {
        "role_gate": f"AS RESTRICTIVE FOR ALL TO {', '.join(groups)} "
        f"USING {check} WITH CHECK {check}"
    }


def _plain_policies(table: str) -> dict[str, str]:
    """Row-level security changes nothing else on these tables: every role keeps what its
    grants give it (the grants stay the only rule there), and the gate is added."""
    policies = {
        f"granted_{role}": f"AS PERMISSIVE FOR ALL TO {role} USING (true) WITH CHECK (true)"
        for role in _roles_granted(table)
    }
    return {**policies, **gate_policies(table)}


@register_step(order=15)
def role_gates(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    with connection.cursor() as cursor:
        # Plain and partitioned tables; views are gated in their definition.
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('r', 'p') "
            "AND relnamespace = 'public'::regnamespace AND pg_get_userbyid(relowner) <> %s",
            [group_granted_tables(), roles.AUDIT_OWNER],
        )
        tables = sorted({name for (name,) in cursor.fetchall()} - _SELF_GATED)
    # The access log's policies are made by its owner, the audit owner (clinic/bootstrap.py,
    # access_log_policies).
    for table in tables:
        # Not FORCEd: the owner (migrations, the SECURITY DEFINER access-log function) is not
        # a group role and stays outside.
        done += ensure_row_level_security(connection, table, force=False)
        done += ensure_policies(connection, table, _plain_policies(table))
    return done


def access_log_policies() -> dict[str, str]:
    """The access log's policies, made by its owner in the bootstrap step (clinic/bootstrap.py).
    The owner login is no longer the table's owner: it reads every row (verification, the
    SECURITY DEFINER functions that look for a grant's event) and writes none."""
    return {
        **_plain_policies("access_log"),
        "owner_login_reads": f"AS PERMISSIVE FOR SELECT TO {roles.OWNER_ROLE} USING (true)",
    }
