"""Row-level security on sign-in tables: a signed-in user reads and changes only their own
second-factor devices, sessions and wrong-code counter and changes only their own password, even
through raw SQL on the web connection; and the functions through which alone sessions are
reached (accounts/session_store.py).

The password step runs before anyone is known (no verified staff identity): the web login then
reads only the account the sign-in attempt names, under the application's signed look-up, and
otherwise only its token's own user (accounts/user_lookup.py); it stamps `last_login` on that
row only (its column grant is the only UPDATE it holds on auth_user). django-otp loads the
session's device inside the request's transaction, under its verified staff id
(clinic/settings.py, MIDDLEWARE), so the web login reads only the devices of the user its
token names. Administrators manage everyone's rows. These tables are not FORCEd: the owner
(migrations, provisioning) stays outside the policies.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.lockout_guard import ATTEMPT_POLICIES, counter_policies, ensure_lockout_guard
from accounts.session_store import DIGEST_SQL
from accounts.user_lookup import (
    GROUP_ROLE_NAMES,
    LOOKED_UP,
    OWN_USERNAME,
    ensure_lookup_function,
)
from clinic import roles
from clinic.provisioning import (
    ensure_function,
    ensure_policies,
    ensure_row_level_security,
    register_step,
)
from clinic.role_gate import gate_policies, gates_itself
from clinic.staff_identity import STAFF_ID, STAFF_ROLE

ADMIN_ALL = "AS PERMISSIVE FOR ALL TO clinic_admin USING (true) WITH CHECK (true)"

AUTH_POLICIES: dict[str, dict[str, str]] = {
    "auth_user": {
        # accounts/user_lookup.py: colleagues for a verified group role; otherwise the token's
        # own user, or the one account the sign-in form's signed look-up names.
        # The comparison sits inside the sub-select (one boolean InitPlan): written
        # `(SELECT clinic_staff_role()) IN (...)`, the planner guessed it kept 1 row in 40, so
        # a query joining auth_user (a visit's provider) drove its join from the users and
        # scanned every visit of each provider (4.5 ms against 0.2 ms for one patient's five
        # last visits, docs/benchmarks.md). A bare boolean it counts as one row in two.
        "staff_read_colleagues": "AS PERMISSIVE FOR SELECT TO PUBLIC "
        f"USING ((SELECT clinic_staff_role() IN ({GROUP_ROLE_NAMES})))",
        "own_row_reads": f"AS PERMISSIVE FOR SELECT TO PUBLIC USING (id = {STAFF_ID})",
        "sign_in_looks_up": f"AS PERMISSIVE FOR SELECT TO {roles.WEB_ROLE} "
        f"USING (username = {LOOKED_UP})",
        # The last sign-in time, stamped under a token naming the user who has just proved
        # their password (accounts/backends.py).
        "sign_in_stamps_last_login": f"AS PERMISSIVE FOR UPDATE TO {roles.WEB_ROLE} "
        f"USING (id = {STAFF_ID}) WITH CHECK (id = {STAFF_ID})",
        "own_row": f"AS PERMISSIVE FOR UPDATE TO clinic_signed_in USING (id = {STAFF_ID}) "
        f"WITH CHECK (id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    "otp_totp_totpdevice": {
        "own_devices_read": f"AS PERMISSIVE FOR SELECT TO clinic_web USING (user_id = {STAFF_ID})",
        "own_devices": f"AS PERMISSIVE FOR ALL TO clinic_signed_in USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    "otp_static_staticdevice": {
        "own_devices_read": f"AS PERMISSIVE FOR SELECT TO clinic_web USING (user_id = {STAFF_ID})",
        "own_devices": f"AS PERMISSIVE FOR ALL TO clinic_signed_in USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    # "My sessions": a signed-in user's own rows; a row names a session by its digest only.
    # Sign-in writes the new session's row under a token naming the user who has just proved
    # their password (accounts/sessions.py); before that the web login sees no row.
    "clinic_staffsession": {
        "sign_in_records": f"AS PERMISSIVE FOR ALL TO clinic_web USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "own_sessions": f"AS PERMISSIVE FOR ALL TO clinic_signed_in USING (user_id = {STAFF_ID}) "
        f"WITH CHECK (user_id = {STAFF_ID})",
        "admin_manages": ADMIN_ALL,
    },
    # The wrong-code counter: counted in the user's own (password-only) session, cleared only
    # when expired or when a code has just been accepted (accounts/lockout_guard.py).
    "clinic_mfafailures": {
        **counter_policies(f"user_id = {STAFF_ID}"),
        "admin_manages": ADMIN_ALL,
    },
    # Sign-in history (django-axes): a row at sign-in, its logout time at sign-out, each only for
    # the account the transaction's verified token names (accounts/user_lookup.py: the user who
    # has just proved their password, or the signed-in user); never rewritten or erased.
    "axes_accesslog": {
        "own_history": f"AS PERMISSIVE FOR ALL TO {roles.WEB_ROLE}, {roles.SIGNED_IN_ROLE} "
        f"USING (username = {OWN_USERNAME}) WITH CHECK (username = {OWN_USERNAME})",
        "admin_manages": ADMIN_ALL,
    },
    # Failed sign-ins (django-axes): counted and read by the sign-in path, lowered only when
    # expired, cleared by the application after a correct password, or unlocked by the privacy
    # officer or the administrator (accounts/lockout_guard.py).
    "axes_accessattempt": ATTEMPT_POLICIES,
    "otp_static_statictoken": {
        "own_tokens": "AS PERMISSIVE FOR ALL TO clinic_signed_in USING (device_id IN "
        f"(SELECT id FROM otp_static_staticdevice WHERE user_id = {STAFF_ID})) "
        "WITH CHECK (device_id IN "
        f"(SELECT id FROM otp_static_staticdevice WHERE user_id = {STAFF_ID}))",
        "admin_manages": ADMIN_ALL,
    },
}


gates_itself(*AUTH_POLICIES)


@register_step(order=5)
def sign_in_tables_security(connection: BaseDatabaseWrapper) -> list[str]:
    # The clearance function first: the lockout policies call it.
    done: list[str] = ensure_lockout_guard(connection)
    done += ensure_lookup_function(connection)
    for table, policies in AUTH_POLICIES.items():
        done += ensure_row_level_security(connection, table, force=False)
        done += ensure_policies(connection, table, {**policies, **gate_policies(table)})
    return done


# --- sessions: only through these functions (accounts/session_store.py) ------------------------
# The load runs on every request: PL/pgSQL keeps its plan for the session (a SQL function with a
# SET clause is planned again on every call).
_DIGEST = DIGEST_SQL.format(key="p_key")
_MAY_END = (
    f"(s.user_id = {STAFF_ID} OR {STAFF_ROLE} = 'clinic_admin' OR session_user = current_user)"
)
_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"
SESSION_FUNCTIONS: dict[str, str] = {
    "clinic_session_load(text)": f"""
CREATE OR REPLACE FUNCTION clinic_session_load(p_key text) RETURNS text
LANGUAGE plpgsql STABLE {_DEFINER} AS $fn$
BEGIN
    RETURN (SELECT d.session_data FROM django_session d
            WHERE d.session_key = {_DIGEST} AND d.expire_date > statement_timestamp());
END
$fn$""",
    "clinic_session_exists(text)": f"""
CREATE OR REPLACE FUNCTION clinic_session_exists(p_key text) RETURNS boolean
LANGUAGE sql STABLE {_DEFINER} AS $fn$
    SELECT EXISTS (SELECT 1 FROM django_session d WHERE d.session_key = {_DIGEST})
$fn$""",
    "clinic_session_save(text,text,timestamp with time zone,boolean)": f"""
CREATE OR REPLACE FUNCTION clinic_session_save(
    p_key text, p_data text, p_expire timestamptz, p_create boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE {_DEFINER} AS $fn$
DECLARE
    changed integer;
BEGIN
    IF p_create THEN
        INSERT INTO django_session (session_key, session_data, expire_date)
        VALUES ({_DIGEST}, p_data, p_expire) ON CONFLICT (session_key) DO NOTHING;
    ELSE
        UPDATE django_session SET session_data = p_data, expire_date = p_expire
        WHERE session_key = {_DIGEST};
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed = 1;
END
$fn$""",
    "clinic_session_delete(text)": f"""
CREATE OR REPLACE FUNCTION clinic_session_delete(p_key text) RETURNS void
LANGUAGE sql VOLATILE {_DEFINER} AS $fn$
    DELETE FROM django_session WHERE session_key = {_DIGEST}
$fn$""",
    "clinic_sessions_clear_expired()": f"""
CREATE OR REPLACE FUNCTION clinic_sessions_clear_expired() RETURNS integer
LANGUAGE sql VOLATILE {_DEFINER} AS $fn$
    WITH gone AS (DELETE FROM django_session WHERE expire_date < statement_timestamp()
                  RETURNING 1)
    SELECT count(*)::integer FROM gone
$fn$""",
    "clinic_sessions_live(text[])": f"""
CREATE OR REPLACE FUNCTION clinic_sessions_live(p_digests text[]) RETURNS SETOF text
LANGUAGE sql STABLE {_DEFINER} AS $fn$
    SELECT d.session_key FROM django_session d
    WHERE d.session_key = ANY(p_digests) AND d.expire_date > statement_timestamp()
$fn$""",
    # Ending a session by its digest: only the caller's own sessions, any for the
    # administrator's verified role, and anything for the owner's own maintenance.
    "clinic_sessions_end(text[])": f"""
CREATE OR REPLACE FUNCTION clinic_sessions_end(p_digests text[]) RETURNS integer
LANGUAGE sql VOLATILE {_DEFINER} AS $fn$
    WITH gone AS (
        DELETE FROM django_session d WHERE d.session_key = ANY(p_digests) AND EXISTS (
            SELECT 1 FROM clinic_staffsession s
            WHERE s.session_key = d.session_key AND {_MAY_END})
        RETURNING 1)
    SELECT count(*)::integer FROM gone
$fn$""",
}
SESSION_CALLERS = (roles.WEB_ROLE, roles.SIGNED_IN_ROLE)


@register_step(order=6)
def session_functions(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for signature, body in SESSION_FUNCTIONS.items():
        done += ensure_function(connection, signature, body, SESSION_CALLERS)
    return done
