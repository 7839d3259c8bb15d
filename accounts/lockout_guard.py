"""Lockouts the database keeps: SQL run on the web connection cannot lift one.

Django-axes counts failed sign-ins in `axes_accessattempt` (by username fingerprint and by
address), the code step counts wrong codes in `clinic_mfafailures`; a lockout is a count at the
limit inside the cool-off time. The web login must write these rows before anyone is signed in,
so grants alone would let injected SQL `DELETE` them or set the counts back to 0, and guess on.
The database now lets the application's roles lower a count only when one of these holds:

- the count has expired (its last failure is older than AXES_COOLOFF_TIME);
- the application says the count is answered, in the same transaction, with a *clearance* it
  signs with the staff-token key (clinic/staff_identity.py; the database verifies it with the
  owner's copy of that key, which no request can read): `signin <username fingerprint>,<address>`
  when a password has just been accepted (axes' reset on success, done here instead of by axes),
  `code <staff id>` when a second-factor code has just been accepted;
- the caller is the privacy officer or the administrator, by their verified role (unlocking).

Otherwise an UPDATE may only raise a live count and date it now (never back), never rename
whose count it is, and a DELETE of a live row removes nothing. Tested with the attacker's SQL in
tests/test_lockout_guard.py.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import receiver
from django.http import HttpRequest

from clinic import roles
from clinic.client_ip import client_ip
from clinic.db_checks import REFUSE, ensure_trigger_function, sql_strings
from clinic.provisioning import ensure_function
from clinic.staff_identity import token_key

SETTING = "app.lockout_clearance"
# Long enough for the request that mints it; it vanishes with the transaction anyway.
LIFETIME_SECONDS = 60
UNLOCKERS = (roles.GROUP_ROLES[roles.PRIVACY_OFFICER], roles.GROUP_ROLES[roles.ADMINISTRATOR])


def mint(kind: str, subject: str, *, now: float | None = None) -> str:
    """A clearance of `kind` ('signin' or 'code') for `subject`, signed for the database."""
    expiry = int(now if now is not None else time.time()) + LIFETIME_SECONDS
    message = f"{kind} {subject} {expiry}"
    # Domain-separated from staff tokens (which never begin with "clearance ").
    mac = hmac.new(token_key(), f"clearance {message}".encode(), hashlib.sha256).hexdigest()
    return f"{message} {mac}"


def clear(kind: str, subject: str, alias: str = "default") -> None:
    """Hand the database a clearance for the current transaction of `alias`."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, mint(kind, subject)])


@receiver(user_logged_in, dispatch_uid="accounts.lockout_guard.reset_on_success")
def reset_on_success(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Axes' reset on success (AXES_RESET_ON_SUCCESS is off so axes does not try it unsigned):
    the user's failed attempts, and those from the address they signed in from, are cleared
    under a clearance naming exactly those."""
    from axes.handlers.proxy import AxesProxyHandler

    from accounts.lockout import username_key

    if request is None:
        return
    # axes' own sign-in receiver (accounts/user_lookup.py) may run after this one.
    AxesProxyHandler.update_request(request)
    address = getattr(request, "axes_ip_address", None) or client_ip(request)
    with transaction.atomic(using="default"):
        clear("signin", f"{username_key(user.get_username())},{address}")
        AxesProxyHandler.get_implementation().reset_user_attempts(
            request, credentials={"username": user.get_username()}
        )


# --- the database's side ------------------------------------------------------------------------
COOLOFF = f"make_interval(secs => {int(settings.AXES_COOLOFF_TIME.total_seconds())})"

CLEARANCE_FUNCTION = """
CREATE OR REPLACE FUNCTION clinic_lockout_clearance(p_kind text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
DECLARE
    parts text[] := string_to_array(current_setting('app.lockout_clearance', true), ' ');
    secret bytea;
BEGIN
    IF array_length(parts, 1) IS DISTINCT FROM 4 OR parts[1] IS DISTINCT FROM p_kind THEN
        RETURN NULL;
    END IF;
    SELECT k.key INTO secret FROM staff_token_key k WHERE k.id = 1;
    IF encode(hmac(convert_to('clearance ' || parts[1] || ' ' || parts[2] || ' ' || parts[3],
                              'UTF8'), secret, 'sha256'), 'hex') IS DISTINCT FROM parts[4] THEN
        RETURN NULL;
    END IF;
    IF parts[3]::bigint < extract(epoch FROM statement_timestamp()) THEN
        RETURN NULL;
    END IF;
    RETURN parts[2];
END
$fn$"""

SIGN_IN_CLEARANCE = "(SELECT clinic_lockout_clearance('signin'))"
CODE_CLEARANCE = "(SELECT clinic_lockout_clearance('code'))"

# Policies (merged into accounts/db_grants.py's). Reading, counting and raising stay open to the
# sign-in path; deleting a live row needs the clearance.
SIGNING_IN_ROLES = (roles.WEB_ROLE, roles.SIGNED_IN_ROLE)
SIGNING_IN = ", ".join(SIGNING_IN_ROLES)
ATTEMPT_POLICIES: dict[str, str] = {
    "sign_in_reads": f"AS PERMISSIVE FOR SELECT TO {SIGNING_IN} USING (true)",
    "sign_in_counts": f"AS PERMISSIVE FOR INSERT TO {SIGNING_IN} WITH CHECK (true)",
    "sign_in_raises": f"AS PERMISSIVE FOR UPDATE TO {SIGNING_IN} USING (true) WITH CHECK (true)",
    "expired_or_cleared": f"AS PERMISSIVE FOR DELETE TO {SIGNING_IN} USING ("
    f"attempt_time <= now() - {COOLOFF} "
    f"OR username = split_part({SIGN_IN_CLEARANCE}, ',', 1) "
    f"OR host(ip_address) = split_part({SIGN_IN_CLEARANCE}, ',', 2))",
    "unlockers": f"AS PERMISSIVE FOR ALL TO {', '.join(UNLOCKERS)} USING (true) WITH CHECK (true)",
}


def counter_policies(own: str) -> dict[str, str]:
    """The wrong-code counter: each user's own row (`own`), cleared only when expired or under a
    'code' clearance naming that user."""
    return {
        "own_counter_reads": f"AS PERMISSIVE FOR SELECT TO {roles.SIGNED_IN_ROLE} USING ({own})",
        "own_counter_counts": f"AS PERMISSIVE FOR INSERT TO {roles.SIGNED_IN_ROLE} "
        f"WITH CHECK ({own})",
        "own_counter_raises": f"AS PERMISSIVE FOR UPDATE TO {roles.SIGNED_IN_ROLE} "
        f"USING ({own}) WITH CHECK ({own})",
        "own_counter_clears": f"AS PERMISSIVE FOR DELETE TO {roles.SIGNED_IN_ROLE} USING ({own} "
        f"AND (last_failure_at <= now() - {COOLOFF} OR user_id::text = {CODE_CLEARANCE}))",
    }


def _only_rises(name: str, count: str, time_column: str, who: str) -> str:
    unlockers = sql_strings(UNLOCKERS)
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF current_user IN ('{roles.OWNER_ROLE}', {unlockers}) THEN
        RETURN NEW;
    END IF;
    IF ({who.replace("@", "NEW.")}) IS DISTINCT FROM ({who.replace("@", "OLD.")}) THEN
        {REFUSE} 'a failure count stays with its account and address';
    END IF;
    IF OLD.{time_column} > now() - {COOLOFF} AND NEW.{count} < OLD.{count} THEN
        {REFUSE} 'a live failure count only rises';
    END IF;
    -- A failure is dated when it happens (axes dates it at the request's start, so concurrent
    -- requests may store a slightly earlier time): never backdated to look expired.
    IF NEW.{time_column} IS DISTINCT FROM OLD.{time_column}
       AND NEW.{time_column} < now() - interval '5 minutes' THEN
        {REFUSE} 'a failure is dated now';
    END IF;
    RETURN NEW;
END
$fn$"""


# table -> (trigger function, its body)
TRIGGERS = {
    "axes_accessattempt": (
        "axes_attempts_only_rise",
        _only_rises(
            "axes_attempts_only_rise",
            "failures_since_start",
            "attempt_time",
            "@username, @ip_address",
        ),
    ),
    "clinic_mfafailures": (
        "mfa_failures_only_rise",
        _only_rises("mfa_failures_only_rise", "count", "last_failure_at", "@user_id"),
    ),
}


def ensure_lockout_guard(connection: BaseDatabaseWrapper) -> list[str]:
    """The clearance function and the only-rises triggers."""
    done = ensure_function(
        connection, "clinic_lockout_clearance(text)", CLEARANCE_FUNCTION, SIGNING_IN_ROLES
    )
    for table, (name, body) in TRIGGERS.items():
        done += ensure_trigger_function(connection, name, body, table, name, "UPDATE")
    return done
