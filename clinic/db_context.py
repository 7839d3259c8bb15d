"""Per-request database context: the user's group role, their staff id, and pgaudit attribution.

Everything the view does runs in one transaction that starts with a single statement:

    SELECT set_config('role', <group role>, true),
           set_config('app.staff_token', <signed staff id and role>, true),
           set_config('application_name', 'staff:<id>/<role>', true)

`set_config(..., true)` is SET LOCAL with bind parameters (SET LOCAL takes none), so the values
vanish at COMMIT/ROLLBACK: nothing leaks to the next request on a pooled connection, and it works
behind a pooler in transaction mode. The web login role has no PHI rights of its own, so a user
without a mapped group (or any code path that skips this) sees no PHI at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse

from clinic import access_log, roles
from clinic.staff import database_role_for
from clinic.staff_identity import attribution, mint

WEB_ALIAS = "default"
REFUSED = frozenset({403, 404})
ROLLED_BACK = frozenset({400, 403, 404})
# The first column reads the state the transaction arrived in, before the set_config calls
# (PostgreSQL evaluates a plain target list left to right): a connection that arrives with a role
# or staff id already set (a pooler or driver bug) is refused instead of served.
# The web connection's limits again, transaction-local: through a transaction pooler a server
# connection may carry another client's session-level SET or RESET ALL (or a role default set
# by injected SQL), and the startup options that set them on a direct connection are dropped.
# Constants from settings (integers, "off" and the pinned search path), never input.
_LIMITS = {
    **{name: str(int(value)) for name, value in settings.WEB_CONNECTION_LIMITS.items()},
    **settings.WEB_CONNECTION_SETTINGS,
}
CONTEXT_SQL = (
    "SELECT current_user = session_user AND coalesce(current_setting('app.staff_token', true), '')"
    " = '', set_config('role', %s, true), set_config('app.staff_token', %s, true), "
    "set_config('application_name', %s, true)"
    + "".join(f", set_config('{name}', '{value}', true)" for name, value in _LIMITS.items())
)


class LeakedContextError(RuntimeError):
    """A transaction started with another request's role or staff id still in place."""


def apply_context(role: str | None, user_id: int | None, alias: str = WEB_ALIAS) -> None:
    """Set the transaction's role and staff id in one round trip (inside a transaction)."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise RuntimeError("The database context must be set inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            CONTEXT_SQL,
            [
                role or "none",  # 'none': the login role itself, which holds no PHI rights
                "" if user_id is None else mint(user_id, role or roles.WEB_ROLE),
                "staff:-" if user_id is None else attribution(user_id, role or roles.WEB_ROLE),
            ],
        )
        clean = cursor.fetchone()[0]
    if not clean:
        raise LeakedContextError("database context from an earlier transaction was still set")


class DatabaseRoleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        if connections[WEB_ALIAS].in_atomic_block:
            raise RuntimeError("DatabaseRoleMiddleware must own the request's transaction.")
        role = database_role_for(user)
        with transaction.atomic(using=WEB_ALIAS):
            apply_context(role, user.pk)
            access_log.hold_events(request)
            try:
                response = self.get_response(request)
                # Exceptions were already turned into responses below us (500, or 400/403/404
                # for SuspiciousOperation/PermissionDenied/Http404 raised mid-way): roll the
                # request's work back, so nothing is half-saved. A view's own deliberate answers
                # (409 conflict, 429 lockout) keep their bookkeeping, e.g. a counted wrong code.
                if response.status_code >= 500 or response.status_code in ROLLED_BACK:
                    transaction.set_rollback(True, using=WEB_ALIAS)
                else:
                    # Last, so the access log's chain lock is held only until COMMIT; if this
                    # fails, the access rolls back with it.
                    access_log.write_held_events(request)
            finally:
                access_log.drop_held_events(request)
        if response.status_code in REFUSED:
            # The refusal is recorded in a transaction of its own, after the rollback.
            with transaction.atomic(using=WEB_ALIAS):
                apply_context(role, user.pk)
                access_log.flush_refusals(request, response.status_code)
        return response
