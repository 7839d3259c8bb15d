"""The superuser's part of provisioning: roles, memberships and the audit owner's objects.

On PostgreSQL 15 a role with CREATEROLE can grant itself any non-superuser role, so the owner
login (`clinic_owner`, which runs migrations and `provision_db`) holds no CREATEROLE: roles and
memberships are made here, on a connection of the cluster's superuser (or, on a managed service,
its administrator login), which neither the application nor migrations ever use.

The same step owns the access log to `clinic_audit_owner`, a NOLOGIN role no login is a member
of: the table, its sequence, its row-level security, its append function and its append-only
trigger; and the verified staff identity the append function relies on (the key table and
`clinic_staff_id()` / `clinic_staff_role()`), together with the `public` schema (the schema's
owner may drop any table in it). Code run as that role calls nothing a login could replace: its
functions search `pg_catalog` only and name `public` objects of the same owner; the HMAC is
computed with the core's `sha256` (no extension a login owns).

Run by `provision_db` first when a bootstrap connection is known (the embedded cluster's
superuser, or DATABASE_BOOTSTRAP_URL), and by `manage.py bootstrap_db` (docs/deployment.md).
Idempotent: a second run changes nothing and returns no statement.
"""

from __future__ import annotations

import os
from typing import Any, cast

from psycopg import sql

from clinic import roles
from clinic.bootstrap_needed import wanted_memberships
from clinic.provisioning import (
    _execute,
    ensure_functions,
    ensure_policies,
    ensure_row_level_security,
    managed_roles,
)


def bootstrap_dsn(dbname: str) -> str | None:
    """Where the bootstrap connects: DATABASE_BOOTSTRAP_URL, or in development (no
    DATABASE_OWNER_URL) the embedded cluster's superuser; None when neither is known."""
    from django.conf import settings

    url = os.environ.get("DATABASE_BOOTSTRAP_URL", "")
    if url:
        return url
    if getattr(settings, "PRODUCTION", False) or os.environ.get("DATABASE_OWNER_URL"):
        return None
    from localdb import cluster

    return cluster.superuser_dsn(dbname)


def run(dsn: str, roles_only: bool = False) -> list[str]:
    """Bring roles, memberships and the audit owner's objects up to date; one transaction.
    `roles_only`: the cluster-wide part alone (before a dump is restored into an empty
    database, which must not hold the objects the dump creates)."""
    import psycopg

    from clinic.provisioning import discover_steps

    discover_steps()  # the access log's policies follow the declared grants
    done: list[str] = []
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path = public, pg_catalog")
        db = cast(Any, conn)  # the provisioning helpers need only cursor() and execute()
        done += ensure_roles(db)
        if not roles_only:
            done += ensure_database(db)
            done += ensure_schema(db)
            done += ensure_identity(db)
            done += ensure_access_log(db)
        conn.commit()
    return done


def run_if_available(alias: str) -> list[str]:
    from django.db import connections

    dsn = bootstrap_dsn(connections[alias].settings_dict["NAME"])
    return run(dsn) if dsn else []


def _as_audit_owner(cursor) -> None:
    """Objects are made by their owner; the role switch itself is no change to report."""
    cursor.execute(
        sql.SQL("SET LOCAL ROLE {}")
        .format(sql.Identifier(roles.AUDIT_OWNER))
        .as_string(cursor.connection)
    )


def ensure_roles(conn) -> list[str]:
    done: list[str] = []
    with conn.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles")
        existing = {row[0] for row in cursor.fetchall()}
        for login in (roles.OWNER_ROLE, roles.WEB_ROLE):
            if login not in existing:
                raise RuntimeError(
                    f"The login role {login} does not exist; create it first "
                    "(see docs/deployment.md)."
                )
        for role in [*managed_roles()[1:], roles.AUDIT_OWNER]:
            if role not in existing:
                _execute(
                    cursor, done, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role))
                )
        # Attributes: the web login inherits nothing; the owner creates no role; the audit
        # owner cannot log in.
        cursor.execute(
            "SELECT rolname, rolinherit, rolcreaterole, rolcanlogin FROM pg_roles "
            "WHERE rolname = ANY(%s)",
            [[roles.WEB_ROLE, roles.OWNER_ROLE, roles.AUDIT_OWNER]],
        )
        attrs = {row[0]: row[1:] for row in cursor.fetchall()}
        fixes = {
            roles.WEB_ROLE: ("NOINHERIT", attrs[roles.WEB_ROLE][0]),
            roles.OWNER_ROLE: ("NOCREATEROLE", attrs[roles.OWNER_ROLE][1]),
            roles.AUDIT_OWNER: (
                "NOLOGIN NOINHERIT",
                attrs[roles.AUDIT_OWNER][2] or attrs[roles.AUDIT_OWNER][0],
            ),
        }
        for role, (attributes, wrong) in fixes.items():
            if wrong:
                _execute(
                    cursor,
                    done,
                    sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(role), sql.SQL(attributes)),
                )
        cursor.execute(
            "SELECT r.rolname, m.rolname, am.admin_option FROM pg_auth_members am "
            "JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member"
        )
        memberships = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
        for role, member in wanted_memberships():
            if (role, member) not in memberships:
                _execute(
                    cursor,
                    done,
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member)),
                )
        for (role, member), admin in sorted(memberships.items()):
            # Nobody may become the audit owner; no application login may grant a role.
            if role == roles.AUDIT_OWNER:
                _execute(
                    cursor,
                    done,
                    sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(role), sql.Identifier(member)
                    ),
                )
            elif admin and member in (roles.OWNER_ROLE, roles.WEB_ROLE):
                _execute(
                    cursor,
                    done,
                    sql.SQL("REVOKE ADMIN OPTION FOR {} FROM {}").format(
                        sql.Identifier(role), sql.Identifier(member)
                    ),
                )
    return done


# What each role holds on the clinic database beside PUBLIC's nothing: the owner login connects
# and makes TEMP tables (analytics' bulk generation), the web login only connects, the analytic
# views' owner makes TEMP tables (REFRESH ... CONCURRENTLY builds its diff in one). None holds
# CREATE: no login may make a schema (one named like the web login, first on "$user"'s path,
# could shadow the application's functions).
DATABASE_RIGHTS = {
    roles.OWNER_ROLE: {"CONNECT", "TEMPORARY"},
    roles.WEB_ROLE: {"CONNECT"},
    roles.ANALYTICS_VIEW_OWNER: {"TEMPORARY"},
}
# The web login's search path, also sent with each connection and set by every request's
# context statement (clinic/settings.py WEB_CONNECTION_SETTINGS): a role-level default the web
# login sets for itself cannot widen it. pg_catalog first: nothing in public shadows a built-in.
WEB_SEARCH_PATH = "pg_catalog, public"


def ensure_database(conn) -> list[str]:
    """The database owned by the audit owner (no login may drop it or create a schema in it);
    the logins' rights on it; the extensions the application uses, made by the superuser (the
    owner login may not create one); the web login's search path."""
    from localdb.cluster import EXTENSIONS

    done: list[str] = []
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT current_database(), pg_get_userbyid(datdba) FROM pg_database "
            "WHERE datname = current_database()"
        )
        dbname, owner = cursor.fetchone()
        database = sql.Identifier(dbname)
        if owner != roles.AUDIT_OWNER:
            _execute(
                cursor,
                done,
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    database, sql.Identifier(roles.AUDIT_OWNER)
                ),
            )
        # Explicit grants only (has_database_privilege would count PUBLIC's and the owner's).
        cursor.execute(
            "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type FROM pg_database d, "
            "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE d.datname = current_database() AND a.grantee <> d.datdba",
        )
        held: dict[str, set[str]] = {}
        for grantee, privilege in cursor.fetchall():
            held.setdefault(grantee, set()).add(privilege)
        # Rights of roles the clinic does not manage (a provider's monitoring login) are left.
        managed = {"PUBLIC", roles.OWNER_ROLE, roles.WEB_ROLE, *managed_roles()}
        for grantee in sorted(held.keys() & managed):
            extra = sorted(held[grantee] - DATABASE_RIGHTS.get(grantee, set()))
            if extra:
                _execute(
                    cursor,
                    done,
                    sql.SQL("REVOKE {} ON DATABASE {} FROM {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in extra),
                        database,
                        sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee),
                    ),
                )
        for grantee, wanted in DATABASE_RIGHTS.items():
            lacking = sorted(wanted - held.get(grantee, set()))
            if lacking:
                _execute(
                    cursor,
                    done,
                    sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in lacking),
                        database,
                        sql.Identifier(grantee),
                    ),
                )
        cursor.execute(
            "SELECT extname FROM pg_extension WHERE extname = ANY(%s)", [list(EXTENSIONS)]
        )
        present = {row[0] for row in cursor.fetchall()}
        for extension in EXTENSIONS:
            if extension not in present:
                _execute(
                    cursor,
                    done,
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(
                        sql.Identifier(extension)
                    ),
                )
        cursor.execute(
            "SELECT 1 FROM pg_db_role_setting WHERE setdatabase = 0 "
            "AND setrole = %s::regrole AND %s = ANY(setconfig)",
            [roles.WEB_ROLE, f"search_path={WEB_SEARCH_PATH}"],
        )
        if cursor.fetchone() is None:
            _execute(
                cursor,
                done,
                sql.SQL("ALTER ROLE {} SET search_path = {}").format(
                    sql.Identifier(roles.WEB_ROLE), sql.SQL(WEB_SEARCH_PATH)
                ),
            )
    return done


def ensure_schema(conn) -> list[str]:
    """`public` owned by the audit owner (a schema's owner may drop any table in it); the owner
    login creates its tables there and hands USAGE on to the roles it provisions."""
    done: list[str] = []
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
        )
        if cursor.fetchone()[0] != roles.AUDIT_OWNER:
            _execute(
                cursor,
                done,
                sql.SQL("ALTER SCHEMA public OWNER TO {}").format(
                    sql.Identifier(roles.AUDIT_OWNER)
                ),
            )
        cursor.execute(
            "SELECT coalesce(bool_and(a.is_grantable), false) AND count(*) = 2 "
            "FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public' "
            "AND a.grantee = %s::regrole",
            [roles.OWNER_ROLE],
        )
        if not cursor.fetchone()[0]:
            _execute(
                cursor,
                done,
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {} WITH GRANT OPTION").format(
                    sql.Identifier(roles.OWNER_ROLE)
                ),
            )
    return done


def ensure_identity(conn) -> list[str]:
    """The staff-token key table and the verifying functions, owned by the audit owner."""
    from clinic import staff_identity as ident

    done: list[str] = []
    with conn.cursor() as cursor:
        for kind, name in (
            ("TABLE", ident.KEY_TABLE),
            ("FUNCTION", "clinic_staff_id()"),
            ("FUNCTION", "clinic_staff_role()"),
            ("FUNCTION", "clinic_hmac_pad(bytea, text)"),
        ):
            lookup = "to_regclass" if kind == "TABLE" else "to_regprocedure"
            owner_of = (
                "(SELECT relowner FROM pg_class WHERE oid = {}(%s))"
                if kind == "TABLE"
                else "(SELECT proowner FROM pg_proc WHERE oid = {}(%s))"
            ).format(lookup)
            cursor.execute(f"SELECT pg_get_userbyid({owner_of})", [name])  # nosec
            owner = cursor.fetchone()[0]
            if owner is not None and owner != roles.AUDIT_OWNER:
                _execute(
                    cursor,
                    done,
                    sql.SQL("ALTER {} {} OWNER TO {}").format(
                        sql.SQL(kind), sql.SQL(name), sql.Identifier(roles.AUDIT_OWNER)
                    ),
                )
        _as_audit_owner(cursor)
        cursor.execute("SELECT to_regclass(%s) IS NULL", [ident.KEY_TABLE])
        if cursor.fetchone()[0]:
            _execute(cursor, done, ident.KEY_TABLE_SQL)
        done += ensure_functions(conn, "clinic_hmac_pad(bytea, text)", [ident.PAD_FUNCTION])
        cursor.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname IN ('inner_pad', 'outer_pad') AND attgenerated = 's'",
            [ident.KEY_TABLE],
        )
        if cursor.fetchone()[0] != 2:
            for statement in ident.PAD_COLUMNS_SQL:
                _execute(cursor, done, statement)
        done += _table_rights(cursor, ident.KEY_TABLE, "SELECT, INSERT, UPDATE", grantable=False)
        done += ensure_functions(
            conn, "clinic_staff_id()", [ident.ID_FUNCTION, ident.ROLE_FUNCTION]
        )
        cursor.execute("RESET ROLE")
    return done


def _table_rights(cursor, table: str, privileges: str, grantable: bool) -> list[str]:
    """PUBLIC holds nothing on `table`; the owner login holds `privileges` (with grant option:
    it passes them on to the roles provisioning declares)."""
    done: list[str] = []
    cursor.execute(
        "SELECT a.privilege_type, a.is_grantable, a.grantee FROM pg_class c, "
        "aclexplode(c.relacl) a WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
        [table],
    )
    have = cursor.fetchall()
    owner_oid_sql = "SELECT %s::regrole::oid"
    cursor.execute(owner_oid_sql, [roles.OWNER_ROLE])
    owner_oid = cursor.fetchone()[0]
    wanted = {p.strip() for p in privileges.split(",")}
    if any(grantee == 0 for _p, _g, grantee in have):
        _execute(
            cursor,
            done,
            sql.SQL("REVOKE ALL ON TABLE {} FROM PUBLIC").format(sql.Identifier(table)),
        )
    held = {p: g for p, g, grantee in have if grantee == owner_oid}
    # Only the difference is taken back: a blanket REVOKE ... CASCADE would also take what the
    # owner login passed on (the privacy officer's read of the log) until provision_db ran again.
    extra = sorted(p for p in held if p not in wanted)
    if extra:
        _execute(
            cursor,
            done,
            # CASCADE: whatever the owner login passed on of a stray right goes with it.
            sql.SQL("REVOKE {} ON TABLE {} FROM {} CASCADE").format(
                sql.SQL(", ").join(sql.SQL(p) for p in extra),
                sql.Identifier(table),
                sql.Identifier(roles.OWNER_ROLE),
            ),
        )
    lacking = sorted(p for p in wanted if p not in held or (grantable and not held[p]))
    if lacking:
        _execute(
            cursor,
            done,
            sql.SQL("GRANT {} ON TABLE {} TO {}{}").format(
                sql.SQL(", ").join(sql.SQL(p) for p in lacking),
                sql.Identifier(table),
                sql.Identifier(roles.OWNER_ROLE),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            ),
        )
    passing_on = sorted(p for p in wanted if not grantable and held.get(p))
    if passing_on:
        _execute(
            cursor,
            done,
            sql.SQL("REVOKE GRANT OPTION FOR {} ON TABLE {} FROM {} CASCADE").format(
                sql.SQL(", ").join(sql.SQL(p) for p in passing_on),
                sql.Identifier(table),
                sql.Identifier(roles.OWNER_ROLE),
            ),
        )
    return done


def ensure_access_log(conn) -> list[str]:
    """The access log, its sequence, trigger, row-level security and append function."""
    from clinic.access_log import checkpoint
    from clinic.access_log import database as log
    from clinic.role_gate import access_log_policies

    done: list[str] = []
    with conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.access_log') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return done  # before the first migration: the next run seals it
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE oid = 'public.access_log'::regclass"
        )
        if cursor.fetchone()[0] != roles.AUDIT_OWNER:
            # The sequence and indexes follow the table.
            _execute(
                cursor,
                done,
                sql.SQL("ALTER TABLE public.access_log OWNER TO {}").format(
                    sql.Identifier(roles.AUDIT_OWNER)
                ),
            )
        signatures = (
            log.OLD_APPEND_SIGNATURE,
            log.APPEND_SIGNATURE,
            log.BATCH_APPEND_SIGNATURE,
            log.REFUSE_SIGNATURE,
        )
        for signature in (*signatures, checkpoint.VERIFY_SIGNATURE):
            cursor.execute(
                "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = to_regprocedure(%s)",
                [signature],
            )
            row = cursor.fetchone()
            if row and row[0] != roles.AUDIT_OWNER:
                statement = (
                    f"DROP FUNCTION {signature}"
                    if signature == log.OLD_APPEND_SIGNATURE
                    else f"ALTER FUNCTION {signature} OWNER TO {roles.AUDIT_OWNER}"
                )
                _execute(cursor, done, statement)
        _as_audit_owner(cursor)
        mark = log.objects_mark()
        cursor.execute("SELECT obj_description('public.access_log'::regclass, 'pg_class')")
        stale = cursor.fetchone()[0] != mark
        cursor.execute(checkpoint.MISSING_SQL)
        if stale or cursor.fetchone()[0]:
            for statement in log.objects_sql():
                _execute(cursor, done, statement)
            _execute(
                cursor,
                done,
                sql.SQL("COMMENT ON TABLE public.access_log IS {}").format(sql.Literal(mark)),
            )
        cursor.execute(checkpoint.REDUNDANT_INDEXES_SQL)
        for (index,) in cursor.fetchall():
            _execute(cursor, done, sql.SQL("DROP INDEX public.{}").format(sql.Identifier(index)))
        cursor.execute(checkpoint.REDUNDANT_CONSTRAINTS_SQL)
        for (constraint,) in cursor.fetchall():
            _execute(
                cursor,
                done,
                sql.SQL("ALTER TABLE public.access_log DROP CONSTRAINT {}").format(
                    sql.Identifier(constraint)
                ),
            )
        done += ensure_row_level_security(conn, "access_log", force=False)
        done += ensure_policies(conn, "access_log", access_log_policies())
        done += _table_rights(cursor, "access_log", "SELECT", grantable=True)
        done += _function_rights(cursor, log.APPEND_SIGNATURE)
        done += _function_rights(cursor, log.BATCH_APPEND_SIGNATURE, log.BATCH_APPENDERS)
        done += _table_rights(cursor, checkpoint.TABLE, "SELECT", grantable=False)
        done += _function_rights(cursor, checkpoint.VERIFY_SIGNATURE, checkpoint.VERIFIERS)
        cursor.execute("RESET ROLE")
    return done


def _function_rights(cursor, signature: str, callers: list[str] | None = None) -> list[str]:
    """The append function: the web login, the signed-in roles and the owner login (demo data,
    commands) may call it; PUBLIC may not. The batch append and the verifier: `callers` only."""
    done: list[str] = []
    callers = callers or [roles.WEB_ROLE, roles.SIGNED_IN_ROLE, roles.OWNER_ROLE]
    cursor.execute(
        "SELECT p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a "
        "WHERE a.grantee = 0) FROM pg_proc p WHERE p.oid = %s::regprocedure",
        [signature],
    )
    if cursor.fetchone()[0]:
        _execute(cursor, done, f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for role in callers:
        cursor.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, signature])
        if not cursor.fetchone()[0]:
            _execute(
                cursor,
                done,
                sql.SQL(f"GRANT EXECUTE ON FUNCTION {signature} TO {{}}").format(
                    sql.Identifier(role)
                ),
            )
    return done
