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
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse

from clinic import access_log, roles
from clinic.staff import database_role_for
from clinic.staff_identity import (
    ARRIVAL_CHECK,
    LeakedContextError,
    attribution,
    loading_in_request,
    mint,
)

WEB_ALIAS = "default"
REFUSED = frozenset({403, 404})
ROLLED_BACK = frozenset({400, 403, 404})
# The first column reads the state the transaction arrived in, before the set_config calls
# (clinic/staff_identity.py ARRIVAL_CHECK): a connection that arrives with a role or staff id
# already set is refused instead of served. The one token accepted besides none is the one this
# request set itself to load its user in the same transaction (the request's first statement
# then made the same check: clinic/staff_identity.py `loading_in_request`).
# The web connection's limits again, transaction-local: through a transaction pooler a server
# connection may carry another client's session-level SET or RESET ALL (or a role default set
# by injected SQL), and the startup options that set them on a direct connection are dropped.
# Constants from settings (integers, "off" and the pinned search path), never input.
_LIMITS = {
    **{name: str(int(value)) for name, value in settings.WEB_CONNECTION_LIMITS.items()},
    **settings.WEB_CONNECTION_SETTINGS,
}
CONTEXT_SQL = (
    f"SELECT {ARRIVAL_CHECK} IN ('', %s), set_config('role', %s, true), "
    "set_config('app.staff_token', %s, true), set_config('application_name', %s, true)"
    + "".join(f", set_config('{name}', '{value}', true)" for name, value in _LIMITS.items())
)
# A clinician's switch also reads their break-the-glass banner's grants, in its last column
# (evaluated after the settings above: records/db_banner.py): a statement fewer on every page.
CLINICIAN_ROLE = roles.GROUP_ROLES[roles.CLINICIAN]
CLINICIAN_CONTEXT_SQL = CONTEXT_SQL + ", public.clinic_banner_grants()"
CONTEXT_STATEMENTS = frozenset({CONTEXT_SQL, CLINICIAN_CONTEXT_SQL})
# Where the request keeps the banner's grants (records/context_processors.py reads them).
BANNER_GRANTS = "_clinic_banner_grants"


def apply_context(
    role: str | None,
    user_id: int | None,
    alias: str = WEB_ALIAS,
    *,
    loaded_as: str = "",
    banner: bool = False,
) -> list[list[Any]] | None:
    """Set the transaction's role and staff id in one round trip (inside a transaction);
    `loaded_as`: the token this transaction was given to load the user, if it was. With
    `banner`, for a clinician: their active grants as [id, reason category, expiry] rows."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise RuntimeError("The database context must be set inside a transaction.")
    banner = banner and role == CLINICIAN_ROLE
    with connection.cursor() as cursor:
        cursor.execute(
            CLINICIAN_CONTEXT_SQL if banner else CONTEXT_SQL,
            [
                loaded_as,
                role or "none",  # 'none': the login role itself, which holds no PHI rights
                "" if user_id is None else mint(user_id, role or roles.WEB_ROLE),
                "staff:-" if user_id is None else attribution(user_id, role or roles.WEB_ROLE),
            ],
        )
        row = cursor.fetchone()
    if not row[0]:
        raise LeakedContextError("database context from an earlier transaction was still set")
    return row[-1] if banner else None


class DatabaseRoleMiddleware:
    """Runs a signed-in request in one transaction, from the load of its user (the request's
    first statement names the session's user and checks the connection arrived clean:
    clinic/staff_identity.py `loading_in_request`) through the role switch to COMMIT. Before,
    the user was loaded in a transaction of its own: a BEGIN and a COMMIT more on every page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if connections[WEB_ALIAS].in_atomic_block:
            raise RuntimeError("DatabaseRoleMiddleware must own the request's transaction.")
        if not _may_be_signed_in(request):
            return self.get_response(request)
        response = None
        with transaction.atomic(using=WEB_ALIAS):
            with loading_in_request(WEB_ALIAS) as loaded_as:
                user = request.user
                signed_in = user.is_authenticated  # the lazy user is loaded here
            if signed_in:
                role = database_role_for(user)
                grants = apply_context(role, user.pk, loaded_as=loaded_as.token, banner=True)
                if grants is not None:
                    setattr(request, BANNER_GRANTS, grants)
                response = self._serve(request)
        if response is None:
            # The session named a user who may no longer sign in: served as anonymous, as before
            # (the transaction held only the load).
            return self.get_response(request)
        if response.status_code in REFUSED:
            # The refusal is recorded in a transaction of its own, after the rollback.
            with transaction.atomic(using=WEB_ALIAS):
                apply_context(role, user.pk)
                access_log.flush_refusals(request, response.status_code)
        return response

    def _serve(self, request: HttpRequest) -> HttpResponse:
        access_log.hold_events(request)
        try:
            response = self.get_response(request)
            # Exceptions were already turned into responses below us (500, or 400/403/404 for
            # SuspiciousOperation/PermissionDenied/Http404 raised mid-way): roll the request's
            # work back, so nothing is half-saved. A view's own deliberate answers (409
            # conflict, 429 lockout) keep their bookkeeping, e.g. a counted wrong code.
            if response.status_code >= 500 or response.status_code in ROLLED_BACK:
                transaction.set_rollback(True, using=WEB_ALIAS)
            else:
                # Last, so the access log's chain lock is held only until COMMIT; if this
                # fails, the access rolls back with it.
                access_log.write_held_events(request)
        finally:
            access_log.drop_held_events(request)
        return response


def _may_be_signed_in(request: HttpRequest) -> bool:
    """Whether the request can have a signed-in user: its user is already loaded and signed in,
    or its session names one (read from the session only: nothing is loaded for a request
    that cannot be signed in, such as the sign-in page's)."""
    cached = getattr(request, "_cached_user", None)
    if cached is not None:
        return bool(cached.is_authenticated)
    session = getattr(request, "session", None)
    return session is not None and SESSION_KEY in session
