"""Turn clinic/roles.py into PostgreSQL roles and grants, idempotently.

Runs on the owner connection. It reads the current privileges from the catalog, computes the
difference to the declared table and issues only the GRANT/REVOKE statements that close it, so
a second run issues nothing and says so. Extra steps (views, row-level security) register
themselves through `register_step` from the apps that own the tables, in each app's `db_grants`
module (found by `discover_steps`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic import roles

Step = Callable[[BaseDatabaseWrapper], list[str]]
_STEPS: list[tuple[int, Step]] = []
# Steps that need the declared views (e.g. indexes on materialized views) run after them.
_AFTER_VIEW_STEPS: list[tuple[int, Step]] = []

# Grants declared by apps (patients, records, analytics) next to their own models.
EXTRA_ROLE_GRANTS: dict[str, list[roles.Grant]] = {}


def register_step(order: int, after_views: bool = False) -> Callable[[Step], Step]:
    """Register an idempotent step; it returns the SQL it had to run (empty: nothing changed)."""

    def decorator(step: Step) -> Step:
        (_AFTER_VIEW_STEPS if after_views else _STEPS).append((order, step))
        return step

    return decorator


_VIEWS: dict[str, tuple[str, str, bool, bool]] = {}


def register_view(
    name: str, query: str, owner: str, materialized: bool = False, barrier: bool = False
) -> None:
    """Declare a (materialized) view; created after the grants its owner needs exist.
    `barrier`: a security_barrier view, whose own conditions (a role gate) run before any
    function of the caller's query can see a row, even one that reports it in an error."""
    _VIEWS[name] = (query, owner, materialized, barrier)


def add_role_grants(role: str, grants: Iterable[roles.Grant]) -> None:
    EXTRA_ROLE_GRANTS.setdefault(role, []).extend(grants)


def managed_roles() -> list[str]:
    return [
        roles.WEB_ROLE,
        roles.SIGNED_IN_ROLE,
        *roles.GROUP_ROLES.values(),
        roles.ANALYTICS_VIEW_OWNER,
    ]


def declared_grants() -> dict[str, list[roles.Grant]]:
    declared: dict[str, list[roles.Grant]] = {
        roles.WEB_ROLE: list(roles.SIGN_IN_GRANTS),
        roles.SIGNED_IN_ROLE: [*roles.SIGN_IN_GRANTS, *roles.SIGNED_IN_GRANTS],
    }
    for role, grants in roles.ROLE_GRANTS.items():
        declared.setdefault(role, []).extend(grants)
    for role, grants in EXTRA_ROLE_GRANTS.items():
        declared.setdefault(role, []).extend(grants)
    return declared


def _execute(cursor, statements: list[str], statement: sql.Composable | str) -> None:
    text = statement if isinstance(statement, str) else statement.as_string(cursor.connection)
    cursor.execute(text)
    statements.append(text)


def ensure_roles(connection: BaseDatabaseWrapper) -> list[str]:
    """Check that the roles and memberships exist. The owner login cannot make them (it holds no
    CREATEROLE: on PostgreSQL 15 that would let it grant itself any role); the bootstrap step,
    as the superuser, does (clinic/bootstrap.py)."""
    from clinic.bootstrap_needed import HINT, BootstrapNeeded, wanted_memberships

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles")
        existing = {row[0] for row in cursor.fetchall()}
        if roles.WEB_ROLE not in existing:
            raise RuntimeError(
                f"The login role {roles.WEB_ROLE} does not exist; create it first "
                "(see docs/deployment.md)."
            )
        missing = [r for r in [*managed_roles(), roles.AUDIT_OWNER] if r not in existing]
        cursor.execute(
            "SELECT r.rolname, m.rolname FROM pg_auth_members am "
            "JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member"
        )
        memberships = {(row[0], row[1]) for row in cursor.fetchall()}
    missing += [f"{m} in {r}" for r, m in wanted_memberships() if (r, m) not in memberships]
    if missing:
        raise BootstrapNeeded(f"missing role(s) or membership(s) {missing}: {HINT}")
    return []


def _current_privileges(cursor, grantees: list[str]) -> tuple[set, set]:
    cursor.execute(
        """
        SELECT c.relname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(c.relacl) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')
          AND a.grantee <> c.relowner
          AND (a.grantee = 0 OR r.rolname = ANY(%s))
        """,
        [grantees],
    )
    tables = {tuple(row) for row in cursor.fetchall()}
    cursor.execute(
        """
        SELECT c.relname, att.attname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
        FROM pg_attribute att
        JOIN pg_class c ON c.oid = att.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(att.attacl) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = 'public' AND att.attacl IS NOT NULL
          AND (a.grantee = 0 OR r.rolname = ANY(%s))
        """,
        [grantees],
    )
    columns = {tuple(row) for row in cursor.fetchall()}
    return tables, columns


def ensure_grants(connection: BaseDatabaseWrapper, before_views: bool = False) -> list[str]:
    done: list[str] = []
    grantees = managed_roles()
    wanted_tables: set[tuple[str, str, str]] = set()
    wanted_columns: set[tuple[str, str, str, str]] = set()
    for role, grants in declared_grants().items():
        for item in grants:
            for privilege in item.privileges:
                if item.columns:
                    wanted_columns.update((item.table, c, role, privilege) for c in item.columns)
                else:
                    wanted_tables.add((item.table, role, privilege))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')"
        )
        existing = {row[0] for row in cursor.fetchall()}
        missing = {t for t, *_ in wanted_tables | wanted_columns} - existing
        if before_views:
            # Grants on declared views wait for the views; keep what exists, add the rest later.
            wanted_tables = {w for w in wanted_tables if w[0] not in missing}
            wanted_columns = {w for w in wanted_columns if w[0] not in missing}
            missing -= set(_VIEWS)
        if missing:
            raise RuntimeError(f"Grants name tables that do not exist: {sorted(missing)}")
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        )
        owners = dict(cursor.fetchall())
        have_tables, have_columns = _current_privileges(cursor, grantees)
        changes: list[tuple[str, sql.Composable]] = []
        for table, role, privilege in sorted(have_tables - wanted_tables):
            changes.append(
                (
                    table,
                    sql.SQL("REVOKE {} ON TABLE {} FROM {}").format(
                        sql.SQL(privilege), sql.Identifier(table), _grantee(role)
                    ),
                )
            )
        for table, column, role, privilege in sorted(have_columns - wanted_columns):
            changes.append(
                (
                    table,
                    sql.SQL("REVOKE {} ({}) ON TABLE {} FROM {}").format(
                        sql.SQL(privilege),
                        sql.Identifier(column),
                        sql.Identifier(table),
                        _grantee(role),
                    ),
                )
            )
        for table, role, privilege in sorted(wanted_tables - have_tables):
            changes.append(
                (
                    table,
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(privilege), sql.Identifier(table), sql.Identifier(role)
                    ),
                )
            )
        for table, column, role, privilege in sorted(wanted_columns - have_columns):
            changes.append(
                (
                    table,
                    sql.SQL("GRANT {} ({}) ON TABLE {} TO {}").format(
                        sql.SQL(privilege),
                        sql.Identifier(column),
                        sql.Identifier(table),
                        sql.Identifier(role),
                    ),
                )
            )
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
        for table, statement in changes:
            owner = owners.get(table, me)
            if owner == roles.AUDIT_OWNER:
                # The audit owner's tables (the access log): the owner login holds their
                # rights with grant option (clinic/bootstrap.py) and hands them on itself.
                owner = me
            if owner != me:
                # Objects owned by another role (the analyst views): grant as that role.
                cursor.execute(
                    sql.SQL("SET LOCAL ROLE {}")
                    .format(sql.Identifier(owner))
                    .as_string(cursor.connection)
                )
            _execute(cursor, done, statement)
            if owner != me:
                cursor.execute("RESET ROLE")
    return done


def _grantee(role: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if role == "PUBLIC" else sql.Identifier(role)


def ensure_schema_usage(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    with connection.cursor() as cursor:
        for role in managed_roles():
            cursor.execute("SELECT has_schema_privilege(%s, 'public', 'USAGE')", [role])
            if not cursor.fetchone()[0]:
                _execute(
                    cursor,
                    done,
                    sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)),
                )
    return done


def discover_steps() -> None:
    """Import every installed app's `db_grants` (rights, policies, views), `db_checks` (what
    the database checks on writes) and `db_suppression` (analytics: the small-cell rule the
    database applies) modules: their `register_step`, `register_view` and
    `add_role_grants` calls declare the steps (this module imports none of them, so the
    dependencies run one way: apps -> provisioning)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("db_grants", "db_checks", "db_suppression")


def provision(alias: str = "owner") -> list[str]:
    """Apply every step in one transaction; return the statements that were needed."""
    discover_steps()

    connection = connections[alias]
    # The superuser's part (clinic/bootstrap.py) has run before, on its own connection: the
    # provision_db command runs it first; what it has not made is checked below.
    statements: list[str] = []
    with transaction.atomic(using=alias):
        statements += ensure_roles(connection)
        statements += ensure_schema_usage(connection)
        for _order, step in sorted(_STEPS, key=lambda item: item[0]):
            statements += step(connection)
        statements += ensure_grants(connection, before_views=True)
        for name, (query, owner, materialized, barrier) in _VIEWS.items():
            statements += ensure_view(connection, name, query, owner, materialized, barrier)
        for _order, step in sorted(_AFTER_VIEW_STEPS, key=lambda item: item[0]):
            statements += step(connection)
        statements += ensure_grants(connection)
    return statements


# --- helpers for the apps' steps: row-level security, policies, views ------------------------
# Policies and views carry a comment with the hash of the SQL that made them, so a re-run can
# tell "unchanged" from "changed" without parsing PostgreSQL's rewritten definitions.


def _fingerprint(text: str) -> str:
    import hashlib

    return "clinic:" + hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


def ensure_row_level_security(
    connection: BaseDatabaseWrapper, table: str, force: bool = True
) -> list[str]:
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        enabled, forced = cursor.fetchone()
        if not enabled:
            _execute(
                cursor,
                done,
                sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(sql.Identifier(table)),
            )
        if force and not forced:
            _execute(
                cursor,
                done,
                sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(sql.Identifier(table)),
            )
    return done


def ensure_policies(
    connection: BaseDatabaseWrapper, table: str, policies: dict[str, str]
) -> list[str]:
    """`policies` maps a policy name to the text after `CREATE POLICY name ON table`."""
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.polname, obj_description(p.oid, 'pg_policy') FROM pg_policy p "
            "WHERE p.polrelid = %s::regclass",
            [table],
        )
        existing = dict(cursor.fetchall())
        for name in sorted(set(existing) - set(policies)):
            _execute(
                cursor,
                done,
                sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(name), sql.Identifier(table)),
            )
        for name, body in policies.items():
            mark = _fingerprint(body)
            if existing.get(name) == mark:
                continue
            if name in existing:
                _execute(
                    cursor,
                    done,
                    sql.SQL("DROP POLICY {} ON {}").format(
                        sql.Identifier(name), sql.Identifier(table)
                    ),
                )
            _execute(
                cursor,
                done,
                sql.SQL("CREATE POLICY {} ON {} ").format(
                    sql.Identifier(name), sql.Identifier(table)
                )
                + sql.SQL(body),
            )
            _execute(
                cursor,
                done,
                sql.SQL("COMMENT ON POLICY {} ON {} IS {}").format(
                    sql.Identifier(name), sql.Identifier(table), sql.Literal(mark)
                ),
            )
    return done


def ensure_view(
    connection: BaseDatabaseWrapper,
    name: str,
    query: str,
    owner: str,
    materialized: bool = False,
    barrier: bool = False,
) -> list[str]:
    """Create or replace a view owned by `owner` (never the table owner: that bypasses RLS)."""
    done: list[str] = []
    kind = "MATERIALIZED VIEW" if materialized else "VIEW"
    options = " WITH (security_barrier)" if barrier else ""
    mark = _fingerprint(kind + options + query)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname = %s",
            [name],
        )
        row = cursor.fetchone()
        if row and row[0] == mark and row[1] == owner:
            return done
        as_owner = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner))
        if row and row[1] == owner:
            # The view's owner drops it: the owner login's membership does not inherit its
            # rights (a changed definition failed with "must be owner of materialized view").
            _execute(cursor, done, as_owner)
        if row:
            _execute(
                cursor,
                done,
                sql.SQL("DROP {} {} CASCADE").format(sql.SQL(kind), sql.Identifier(name)),
            )
        if not (row and row[1] == owner):
            _execute(cursor, done, as_owner)
        _execute(
            cursor,
            done,
            sql.SQL("CREATE {} {}{} AS ").format(
                sql.SQL(kind), sql.Identifier(name), sql.SQL(options)
            )
            + sql.SQL(query),
        )
        _execute(
            cursor,
            done,
            sql.SQL("COMMENT ON {} {} IS {}").format(
                sql.SQL(kind), sql.Identifier(name), sql.Literal(mark)
            ),
        )
        _execute(cursor, done, "RESET ROLE")
    return done


def ensure_membership(connection: BaseDatabaseWrapper, role: str, member: str) -> list[str]:
    """Check a membership. Memberships are granted by the bootstrap step only (the owner login
    holds no CREATEROLE): declare a new one in clinic/bootstrap.py, wanted_memberships."""
    from clinic.bootstrap_needed import HINT, BootstrapNeeded

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [member, role])
        if not cursor.fetchone()[0]:
            raise BootstrapNeeded(f"{member} is not a member of {role}: {HINT}")
    return []


def ensure_functions(
    connection: BaseDatabaseWrapper, signature: str, statements: list[str]
) -> list[str]:
    """Run `statements` (CREATE OR REPLACE FUNCTION ... and what goes with it) unless the
    function `signature` (e.g. "clinic_today()") already carries their fingerprint; then mark it.
    A second run with the same statements changes nothing."""
    done: list[str] = []
    mark = _fingerprint("\n".join(statements))
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [signature])
        if cursor.fetchone()[0] == mark:
            return done
        for statement in statements:
            _execute(cursor, done, statement)
        _execute(
            cursor,
            done,
            sql.SQL("COMMENT ON FUNCTION {} IS {}").format(sql.SQL(signature), sql.Literal(mark)),
        )
    return done


def ensure_function(
    connection: BaseDatabaseWrapper,
    signature: str,
    statement: str,
    executors: Sequence[str] = (),
) -> list[str]:
    """ensure_functions for one function (`statement`, CREATE OR REPLACE FUNCTION ...) that
    PUBLIC may not execute and `executors` (role names; none: only its owner) may. Any other
    role holding EXECUTE loses it, on every run: a role taken off the list (or granted by
    hand) keeps no right, as `ensure_grants` does for tables."""
    with connection.cursor() as cursor:
        rights = [f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC"]
        if executors:
            rights.append(
                sql.SQL(f"GRANT EXECUTE ON FUNCTION {signature} TO {{}}")
                .format(sql.SQL(", ").join(sql.Identifier(role) for role in executors))
                .as_string(cursor.connection)
            )
    done = ensure_functions(connection, signature, [statement, *rights])
    return done + revoke_other_executors(connection, signature, executors)


def revoke_other_executors(
    connection: BaseDatabaseWrapper, signature: str, executors: Sequence[str]
) -> list[str]:
    """REVOKE EXECUTE on `signature` from every role but its owner and `executors`: for
    functions made by ensure_functions with statements of their own (a DROP first, triggers,
    several functions under one mark), which ensure_function cannot make."""
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT r.rolname FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a"
            " JOIN pg_roles r ON r.oid = a.grantee"
            " WHERE p.oid = to_regprocedure(%s) AND a.privilege_type = 'EXECUTE'"
            " AND a.grantee <> p.proowner",
            [signature],
        )
        for role in sorted({name for (name,) in cursor.fetchall()} - set(executors)):
            _execute(
                cursor,
                done,
                sql.SQL(f"REVOKE EXECUTE ON FUNCTION {signature} FROM {{}}").format(
                    sql.Identifier(role)
                ),
            )
    return done


def ensure_key_table(connection: BaseDatabaseWrapper, table: str, key: bytes) -> list[str]:
    """A one-row table holding `key` (a secret from settings a SECURITY DEFINER function or a
    view's owner needs in the database), readable by its owner and whoever is granted it only.
    The key itself never appears in the returned statements (they are printed)."""
    done: list[str] = []
    name = sql.Identifier(table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cursor.fetchone()[0]:
            _execute(
                cursor,
                done,
                sql.SQL(
                    "CREATE TABLE {} (id integer PRIMARY KEY CHECK (id = 1),"
                    " key bytea NOT NULL CHECK (octet_length(key) >= 32))"
                ).format(name),
            )
            _execute(cursor, done, sql.SQL("REVOKE ALL ON TABLE {} FROM PUBLIC").format(name))
        cursor.execute(sql.SQL("SELECT key FROM {} WHERE id = 1").format(name))
        row = cursor.fetchone()
        if row is None or bytes(row[0]) != key:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (id, key) VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key"
                ).format(name),
                [key],
            )
            done.append(f"-- {table}: key set from settings")
    return done
