"""Run SQL through the real web connection under a group role, as a request would."""

from __future__ import annotations

import re
from contextlib import contextmanager

from django.db import connections, transaction

from clinic.db_context import apply_context

# A request always has a signed-in staff member; tests that do not care who it is act as this
# one (no care team, no grants), so the role's rules apply as to any member of the group.
SOMEONE = 999_999


@contextmanager
def as_role(role: str | None, user_id: int | None = None):
    """A cursor on the web connection inside a transaction switched to `role`, with a verified
    identity of that role (rolled back). `role=None`: the bare web login, as before sign-in."""
    with transaction.atomic(using="default"):
        apply_context(role, user_id if user_id is not None or role is None else SOMEONE)
        with connections["default"].cursor() as cursor:
            yield cursor
        transaction.set_rollback(True, using="default")


def run_as(role: str | None, query: str, params: list | None = None, user_id: int | None = None):
    """Rows of `query` under `role`; raises the database's error when it refuses."""
    with as_role(role, user_id) as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount


@contextmanager
def request_cursor(user, *, switch_to: str | None = None, reset_role: bool = False):
    """A cursor on the web connection inside `user`'s request (None: before sign-in), after the
    real context statement and then, as injected SQL would, a switch to the role `switch_to` or
    a `RESET ROLE` back to the bare web login; everything is rolled back."""
    from clinic.staff import database_role_for

    with transaction.atomic(using="default"):
        if user is not None:
            apply_context(database_role_for(user), user.pk)
        with connections["default"].cursor() as cursor:
            if switch_to:
                cursor.execute("SELECT set_config('role', %s, true)", [switch_to])
            if reset_role:
                cursor.execute("RESET ROLE")
            yield cursor
        transaction.set_rollback(True, using="default")


def in_request(user, statement: str, params: list | None = None, *, switch_to: str | None = None):
    """Rows of `statement` injected into `user`'s request (see request_cursor); raises the
    database's error when it refuses."""
    with request_cursor(user, switch_to=switch_to) as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall()


def audit_lines(user, statement: str, params: list | None = None) -> list[str]:
    """The pgaudit lines the server wrote for `statement` alone, run in `user`'s request (see
    request_cursor; rolled back): the log's lines of that connection's backend only."""
    from localdb import cluster

    log = cluster.log_file()
    with request_cursor(user) as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ((pid,),) = cursor.fetchall()
        offset = log.stat().st_size
        cursor.execute(statement, params or [])
        cursor.fetchall()
        with open(log, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            written = handle.read()
    return [line for line in written.splitlines() if f"[{pid}]" in line and "AUDIT: " in line]


def audited_tables(lines: list[str]) -> list[str]:
    """The tables named by the READ lines among `lines` (pgaudit's per-relation lines), in order."""
    pattern = re.compile(r"AUDIT: SESSION,\d+,\d+,READ,SELECT,TABLE,([\w.]+),")
    return [found.group(1) for line in lines if (found := pattern.search(line))]
