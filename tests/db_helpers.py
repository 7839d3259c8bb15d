"""Run SQL through the real web connection under a group role, as a request would."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, transaction

from clinic.db_context import apply_context


@contextmanager
def as_role(role: str | None, user_id: int | None = None):
    """A cursor on the web connection inside a transaction switched to `role` (rolled back)."""
    with transaction.atomic(using="default"):
        apply_context(role, user_id)
        with connections["default"].cursor() as cursor:
            yield cursor
        transaction.set_rollback(True, using="default")


def run_as(role: str | None, query: str, params: list | None = None, user_id: int | None = None):
    """Rows of `query` under `role`; raises the database's error when it refuses."""
    with as_role(role, user_id) as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount
