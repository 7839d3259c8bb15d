"""Staff accounts the web login may read: its own user's row, or the one being signed in.

`auth_user` holds every account's name, e-mail address, flags and (encrypted) password. Before
this, the bare web login (`clinic_web`, every request before its role switch, the sign-in page
included) read every row, so SQL injected into any page could list the clinic's accounts. Now
row-level security (accounts/db_grants.py) lets a transaction read:

- every account, when it carries a verified staff token naming one of the clinic's group roles
  (a signed-in member of staff: colleagues' names appear on their pages, the privacy officer's
  reports, the administrator's lists);
- otherwise only the row of the staff id its token names (the session's own user, loaded at the
  start of each request by `PasswordBackend.get_user`, or the user who has just proved their
  password, whose last sign-in time is stamped);
- and the row whose username is named by a *look-up* the application signs for the sign-in
  form's one attempt (`PasswordBackend.authenticate`), in the same transaction:

      app.sign_in_lookup = lookup <username, hex> <expiry, epoch seconds> <HMAC-SHA256, hex>

  keyed with the staff-token key (clinic/staff_identity.py; the database verifies it with the
  owner's copy, which no request can read). "lookup " separates it from staff tokens and lockout
  clearances signed with the same key.

SQL injected into the sign-in page can read the row of the username typed into that request and
nothing else; a look-up it mints itself does not verify. Tested with the attacker's SQL in
tests/test_sign_in_tables.py.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import ensure_functions
from clinic.staff_identity import (
    NAME_ON_ARRIVAL_SQL,
    NAME_SQL,
    LeakedContextError,
    RequestLoad,
    name_params,
    token_key,
)
from clinic.staff_identity import SETTING as STAFF_SETTING

SETTING = "app.sign_in_lookup"
# Long enough for the password check that follows; it vanishes with the transaction anyway.
LIFETIME_SECONDS = 60


def mint(username: str, *, now: float | None = None) -> str:
    """The look-up of `username`, signed for the database."""
    expiry = int(now if now is not None else time.time()) + LIFETIME_SECONDS
    message = f"{username.encode().hex()} {expiry}"
    mac = hmac.new(token_key(), f"lookup {message}".encode(), hashlib.sha256).hexdigest()
    return f"lookup {message} {mac}"


LOOKUP_FUNCTION = """
CREATE OR REPLACE FUNCTION clinic_sign_in_lookup() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    parts text[] := string_to_array(current_setting('app.sign_in_lookup', true), ' ');
    secret bytea;
BEGIN
    IF array_length(parts, 1) IS DISTINCT FROM 4 OR parts[1] IS DISTINCT FROM 'lookup' THEN
        RETURN NULL;
    END IF;
    SELECT k.key INTO secret FROM staff_token_key k WHERE k.id = 1;
    IF encode(hmac(convert_to('lookup ' || parts[2] || ' ' || parts[3], 'UTF8'), secret,
              'sha256'), 'hex') IS DISTINCT FROM parts[4] THEN
        RETURN NULL;
    END IF;
    -- Authentic: the app minted it, so the fields have their form.
    IF parts[3]::bigint < extract(epoch FROM statement_timestamp()) THEN
        RETURN NULL;
    END IF;
    RETURN convert_from(decode(parts[2], 'hex'), 'UTF8');
END
$fn$"""

# What auth_user's policies write (accounts/db_grants.py).
LOOKED_UP = "(SELECT clinic_sign_in_lookup())"
# The username of the account the verified staff token names (its own row is always readable).
OWN_USERNAME = "(SELECT u.username FROM auth_user u WHERE u.id = (SELECT clinic_staff_id()))"
GROUP_ROLE_NAMES = ", ".join(f"'{name}'" for name in roles.GROUP_ROLES.values())


def ensure_lookup_function(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_functions(
        connection,
        "clinic_sign_in_lookup()",
        # Executable by every role, as clinic_staff_id() is: it returns only what the
        # transaction's own setting already says, once verified.
        [LOOKUP_FUNCTION],
    )


@contextmanager
def looking_up(username: str, alias: str = "default") -> Iterator[None]:
    """A transaction of `alias` in which the web login may read the account named `username`
    (the sign-in form's attempt); a transaction already under way gets the look-up for the
    block only."""
    connection = connections[alias]
    nested = connection.in_atomic_block
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, mint(username)])
        try:
            yield
        finally:
            if nested:
                cursor.execute("SELECT set_config(%s, '', true)", [SETTING])


@contextmanager
def as_own_user(user_id: Any, alias: str = "default") -> Iterator[None]:
    """A transaction of `alias` in which the web login reads (and stamps) the row of `user_id`,
    the session's own user or the one who has just proved their password: the app names them
    with a staff token as the bare web login (it mints it; SQL on the connection cannot). A
    transaction that already names someone is left as it is; one already under way gets the
    name for the block only, except the request's own (`loading_in_request`), which keeps it."""
    connection = connections[alias]
    load: RequestLoad | None = getattr(connection, "clinic_request_load", None)
    if load is not None and not load.token:
        params = name_params(int(user_id), roles.WEB_ROLE)
        with connection.cursor() as cursor:
            cursor.execute(NAME_ON_ARRIVAL_SQL, params)
            clean = cursor.fetchone()[0]
        if not clean:
            raise LeakedContextError("database context from an earlier transaction was still set")
        load.token = params[0]
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if not nested:
            # A transaction of its own: nothing can be named in it yet (the request's context
            # is set later, in the request's own transaction: clinic/db_context.py).
            cursor.execute(NAME_SQL, name_params(int(user_id), roles.WEB_ROLE))
            yield
            return
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), current_setting('application_name')",
            [STAFF_SETTING],
        )
        token, label = cursor.fetchone()
        if token:
            yield
            return
        cursor.execute(NAME_SQL, name_params(int(user_id), roles.WEB_ROLE))
        try:
            yield
        finally:
            cursor.execute(NAME_SQL, ["", label])


def stamp_last_login(sender: Any, user: Any, **kwargs: Any) -> None:
    """Django's `update_last_login`, as the user who has just proved their password (the web
    login may stamp no other row)."""
    from django.contrib.auth.models import update_last_login

    with as_own_user(user.pk):
        update_last_login(sender, user, **kwargs)


def record_sign_in_history(sender: Any, user: Any, **kwargs: Any) -> None:
    """django-axes' sign-in history row (and its clean-up of expired attempts), written as the
    user who has just proved their password: the database takes history rows for that account
    only."""
    from axes.signals import handle_user_logged_in

    with as_own_user(user.pk):
        handle_user_logged_in(sender, user=user, **kwargs)


def install() -> None:
    """Replace Django's and django-axes' sign-in receivers with the same work done as the user
    (as the bare web login it would now be refused)."""
    from axes.signals import handle_user_logged_in
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.disconnect(dispatch_uid="update_last_login")
    user_logged_in.connect(
        stamp_last_login, dispatch_uid="accounts.user_lookup.stamp_last_login", weak=False
    )
    if user_logged_in.disconnect(handle_user_logged_in):
        user_logged_in.connect(
            record_sign_in_history,
            dispatch_uid="accounts.user_lookup.record_sign_in_history",
            weak=False,
        )
