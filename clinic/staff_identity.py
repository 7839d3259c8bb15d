"""A staff identity the database can verify: SQL run on the connection cannot choose it.

Per request, inside its transaction, the app sets `app.staff_token` to

    <staff id>.<database role>.<expiry, epoch seconds>.<HMAC-SHA256 of the three, hex>

keyed with STAFF_TOKEN_KEY, which the app holds in memory (trusted) and provisioning copies into
`staff_token_key`, a table no request may read (its owner is clinic_audit_owner, which no login
can become; the owner login keeps the key equal to settings). `clinic_staff_id()` and
`clinic_staff_role()`, SECURITY DEFINER functions owned by the same role, check the token
and return the verified values, or NULL for no token, a forged or an
expired one. Row-level security, "recorded by" checks and the access-log function use them,
never a setting SQL could choose: an injected `set_config('app.staff_token', ...)` can only
produce a token that does not verify. Policies ask `(SELECT clinic_staff_id())`, which the
planner evaluates once per query (an InitPlan).

The same transaction sets `application_name` to `staff:<id>/<role>`, which the server log's line
prefix prints on every line (pgaudit's included), and the functions verify only while it names
the token's staff id and role: SQL that relabels its statements as someone else's (an injected
`set_config('application_name', ...)`) loses its identity with it, so every statement that
reads or writes what the role gate and row-level security guard is logged under the verified
staff id and group role.

The token is transaction-local (set_config(..., true)): it vanishes at COMMIT/ROLLBACK, so it
never reaches the next request on a pooled connection, and an attacker inside a request can read
only the token of the user whose request it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.blind_index import decode_base64_key
from clinic.provisioning import _execute, ensure_key_table, register_step

# What policies and functions write for "the signed-in staff member" and "their role".
STAFF_ID = "(SELECT clinic_staff_id())"
STAFF_ROLE = "(SELECT clinic_staff_role())"
# "The role in force is the verified one", the role gate (clinic/role_gate.py), asked once per
# statement: the comparison inside the sub-select makes one InitPlan of it. Written as
# `STAFF_ROLE = current_user`, `current_user` was evaluated again on every row a policy filters
# (a name look-up each time): 5 of the 26 ms of a clinician's whole-table visit list under
# row-level security at 1M patients (docs/benchmarks.md). Within one statement the role in force
# does not change, so the answer is the same.
ROLE_IN_FORCE_IS_VERIFIED = "(SELECT clinic_staff_role() = current_user)"
SETTING = "app.staff_token"
# Long enough for the slowest request; a token never outlives its transaction anyway.
LIFETIME_SECONDS = 15 * 60


# Names the staff member to the database for the current transaction: token, then log label.
NAME_SQL = (
    "SELECT set_config('app.staff_token', %s, true), set_config('application_name', %s, true)"
)
# The transaction's role and staff token as it arrived, completed by "= ''" (a fresh one: the
# bare login role, no staff token) or by the token the request itself has set. Read in a
# statement's first column, before that statement's own set_config calls (PostgreSQL evaluates
# a plain target list left to right): a connection handed over with another request's role or
# staff id (a pooler or driver bug, or a session-level SET left by injected SQL) is refused
# instead of served.
ARRIVAL_CHECK = (
    "current_user = session_user AND coalesce(current_setting('app.staff_token', true), '')"
)
# The request's first statement when it loads the session's user in its own transaction
# (`loading_in_request` below): the arrival check, then NAME_SQL's settings.
NAME_ON_ARRIVAL_SQL = f"SELECT {ARRIVAL_CHECK} = '', " + NAME_SQL.removeprefix("SELECT ")


class LeakedContextError(RuntimeError):
    """A transaction started with another request's role or staff id still in place."""


class RequestLoad:
    """Marks the request's own transaction, just begun, as the place to load its user
    (`loading_in_request`); `token`: the staff token the load set, once it has run."""

    def __init__(self) -> None:
        self.token = ""


@contextmanager
def loading_in_request(alias: str = "default") -> Iterator[RequestLoad]:
    """Inside the request's transaction, just begun and nothing sent yet
    (clinic/db_context.py): the session's user, if loaded in the block (accounts/user_lookup.py
    `as_own_user`), is loaded in it, not in a transaction of its own (a BEGIN and a COMMIT
    fewer on every page). The load's first statement checks that the connection arrived clean
    (NAME_ON_ARRIVAL_SQL) and names the user as the bare web login; the token stays until the
    request's context statement replaces it, which accepts that one token only."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise RuntimeError("The user is loaded in a request's transaction only.")
    load = RequestLoad()
    connection.clinic_request_load = load  # type: ignore[attr-defined]
    try:
        yield load
    finally:
        del connection.clinic_request_load  # type: ignore[attr-defined]


def attribution(staff_id: int, role: str) -> str:
    """The `application_name` (the log lines' `app=`) that goes with the token."""
    return f"staff:{int(staff_id)}/{role}"


def name_params(staff_id: int, role: str, *, now: float | None = None) -> list[str]:
    """NAME_SQL's parameters for `staff_id` acting as database role `role`."""
    return [mint(staff_id, role, now=now), attribution(staff_id, role)]


def set_token(alias: str, staff_id: int, role: str) -> None:
    """Name `staff_id` (acting as `role`) in the current transaction of `alias`."""
    with connections[alias].cursor() as cursor:
        cursor.execute(NAME_SQL, name_params(staff_id, role))


def token_key() -> bytes:
    key = decode_base64_key(settings.STAFF_TOKEN_KEY)
    if len(key) < 32:
        raise ValueError("STAFF_TOKEN_KEY must hold at least 32 bytes")
    return key


def mint(staff_id: int, role: str, *, now: float | None = None) -> str:
    """The token for `staff_id` acting as database role `role`."""
    expiry = int(now if now is not None else time.time()) + LIFETIME_SECONDS
    message = f"{int(staff_id)}.{role}.{expiry}"
    mac = hmac.new(token_key(), message.encode(), hashlib.sha256).hexdigest()
    return f"{message}.{mac}"


KEY_TABLE = "staff_token_key"
# Owned by the audit owner (clinic/bootstrap.py), which no login can become: the append function
# of the access log runs as that role and verifies the author through these functions, so they
# call nothing a login owns (no pgcrypto: the extension belongs to the owner login, which could
# replace it). HMAC-SHA256 from the core's sha256: sha256(K^opad || sha256(K^ipad || m)), the
# two padded keys kept beside the key as generated columns.
KEY_TABLE_SQL = (
    f"CREATE TABLE public.{KEY_TABLE} (id integer PRIMARY KEY CHECK (id = 1),"
    " key bytea NOT NULL CHECK (octet_length(key) >= 32))"
)
PAD_FUNCTION = """
CREATE OR REPLACE FUNCTION public.clinic_hmac_pad(k bytea, pad text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
SELECT decode(string_agg(lpad(to_hex(substring(b FROM i * 64 + 1 FOR 64)::bigint), 16, '0'),
                         '' ORDER BY i), 'hex')
FROM (SELECT ('x' || encode(kk || decode(repeat('00', 64 - octet_length(kk)), 'hex'), 'hex'))
             ::bit(512) # ('x' || repeat(pad, 64))::bit(512) AS b
      FROM (SELECT CASE WHEN octet_length(k) > 64 THEN sha256(k) ELSE k END AS kk) AS s0) AS s,
     generate_series(0, 7) AS i
$fn$"""
PAD_COLUMNS_SQL = [
    f"ALTER TABLE public.{KEY_TABLE} DROP COLUMN IF EXISTS inner_pad, "
    "DROP COLUMN IF EXISTS outer_pad",
    f"ALTER TABLE public.{KEY_TABLE} "
    "ADD COLUMN inner_pad bytea GENERATED ALWAYS AS (public.clinic_hmac_pad(key, '36')) STORED, "
    "ADD COLUMN outer_pad bytea GENERATED ALWAYS AS (public.clinic_hmac_pad(key, '5c')) STORED",
]

# One parse and one HMAC. The MAC is checked before any field is trusted (it covers all three),
# so no pattern match is needed: a regular expression cost 17 us of the 26 us per call measured.
VERIFY_TEMPLATE = """
CREATE OR REPLACE FUNCTION public.{name}() RETURNS {returns}
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    parts text[] := string_to_array(current_setting('app.staff_token', true), '.');
    inner_key bytea;
    outer_key bytea;
BEGIN
    IF array_length(parts, 1) IS DISTINCT FROM 4
       OR current_setting('application_name', true)
          IS DISTINCT FROM 'staff:' || parts[1] || '/' || parts[2] THEN
        RETURN NULL;
    END IF;
    SELECT k.inner_pad, k.outer_pad INTO inner_key, outer_key
    FROM public.staff_token_key k WHERE k.id = 1;
    IF encode(sha256(outer_key || sha256(inner_key
              || convert_to(parts[1] || '.' || parts[2] || '.' || parts[3], 'UTF8'))), 'hex')
       IS DISTINCT FROM parts[4] THEN
        RETURN NULL;
    END IF;
    -- Authentic: the app minted it, so the fields have their form.
    IF parts[3]::bigint < extract(epoch FROM statement_timestamp()) THEN
        RETURN NULL;
    END IF;
    RETURN {value};
END
$fn$"""
ID_FUNCTION = VERIFY_TEMPLATE.format(
    name="clinic_staff_id", returns="integer", value="parts[1]::integer"
)
ROLE_FUNCTION = VERIFY_TEMPLATE.format(name="clinic_staff_role", returns="text", value="parts[2]")
IDENTITY_FUNCTIONS = ("clinic_staff_id()", "clinic_staff_role()", "clinic_hmac_pad(bytea, text)")


def check_bootstrapped(connection: BaseDatabaseWrapper) -> None:
    """The key table and the verifying functions are the audit owner's, as the bootstrap left
    them (clinic/bootstrap.py); the owner login cannot make or change them."""
    from clinic.bootstrap_needed import HINT, BootstrapNeeded
    from clinic.provisioning import _fingerprint

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(%s)",
            [KEY_TABLE],
        )
        row = cursor.fetchone()
        cursor.execute(
            "SELECT obj_description(to_regprocedure('clinic_staff_id()'), 'pg_proc'), "
            "pg_get_userbyid((SELECT proowner FROM pg_proc "
            "WHERE oid = to_regprocedure('clinic_staff_id()')))"
        )
        mark, owner = cursor.fetchone()
    if (
        row is None
        or row[0] != roles.AUDIT_OWNER
        or owner != roles.AUDIT_OWNER
        or mark != _fingerprint("\n".join([ID_FUNCTION, ROLE_FUNCTION]))
    ):
        raise BootstrapNeeded(f"the staff identity is not the audit owner's yet: {HINT}")


@register_step(order=0)
def staff_identity_objects(connection: BaseDatabaseWrapper) -> list[str]:
    """pgcrypto (other functions use it), the key (kept equal to settings)."""
    check_bootstrapped(connection)
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'")
        if cursor.fetchone() is None:
            _execute(cursor, done, "CREATE EXTENSION IF NOT EXISTS pgcrypto")
    done += ensure_key_table(connection, KEY_TABLE, token_key())
    return done
