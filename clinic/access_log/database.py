"""Database side of the access log: the append function, the chain, append-only enforcement.

Canonical content of a row (what its hash covers), as text joined with '|':
    id, occurred_at (UTC, microseconds), staff_id, role, action, patient_id, object_id,
    client_ip, outcome, reason
and hash = sha256(prev_hash || '|' || content), hex. The first row's prev_hash is 64 zeros.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic import roles
from clinic.provisioning import _execute, _fingerprint, register_step

GENESIS = "0" * 64
APPEND_SIGNATURE = "append_access_event(text, uuid, text, inet, text, text)"
# The earlier form took the staff id and role as arguments: anyone could write in anyone's name.
OLD_APPEND_SIGNATURE = "append_access_event(integer, text, text, uuid, text, inet, text, text)"
CANONICAL = """concat_ws('|', e.id::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    coalesce(e.staff_id::text, ''), e.role, e.action, coalesce(e.patient_id::text, ''),
    e.object_id, coalesce(host(e.client_ip), ''), e.outcome, e.reason)"""

APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION append_access_event(
    p_action text, p_patient_id uuid, p_object_id text, p_client_ip inet, p_outcome text,
    p_reason text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    e access_log%ROWTYPE;
BEGIN
    -- One writer at a time, so the chain never forks; held to the end of the transaction.
    PERFORM pg_advisory_xact_lock(hashtext('clinic.access_log'));
    SELECT hash INTO e.prev_hash FROM access_log ORDER BY id DESC LIMIT 1;
    e.prev_hash := coalesce(e.prev_hash, '{GENESIS}');
    e.id := nextval(pg_get_serial_sequence('access_log', 'id'));
    e.occurred_at := clock_timestamp();
    -- Who and as what: the verified staff identity (clinic/staff_identity.py), never an argument.
    e.staff_id := clinic_staff_id();
    e.role := CASE WHEN e.staff_id IS NULL THEN NULL ELSE clinic_staff_role() END;
    e.role := left(coalesce(e.role, 'anonymous'), 40);
    e.action := left(p_action, 40);
    e.patient_id := p_patient_id;
    e.object_id := left(coalesce(p_object_id, ''), 64);
    e.client_ip := p_client_ip;
    e.outcome := left(coalesce(p_outcome, ''), 20);
    e.reason := left(coalesce(p_reason, ''), 200);
    e.hash := encode(sha256(convert_to(e.prev_hash || '|' || {CANONICAL}, 'UTF8')), 'hex');
    INSERT INTO access_log VALUES (e.*);
    RETURN e.id;
END
$fn$"""

REFUSE_CHANGES_FUNCTION = """
CREATE OR REPLACE FUNCTION access_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'access_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$"""

TRIGGER = """
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log
FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change()"""

VERIFY_QUERY = f"""
SELECT e.id, e.prev_hash, e.hash,
       encode(sha256(convert_to(e.prev_hash || '|' || {CANONICAL}, 'UTF8')), 'hex') AS computed
FROM access_log e WHERE e.id > %s ORDER BY e.id LIMIT %s"""


@register_step(order=20)
def access_log_objects(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    mark = _fingerprint(APPEND_FUNCTION + REFUSE_CHANGES_FUNCTION + TRIGGER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('access_log'::regclass, 'pg_class')")
        if cursor.fetchone()[0] != mark:
            _execute(cursor, done, f"DROP FUNCTION IF EXISTS {OLD_APPEND_SIGNATURE}")
            _execute(cursor, done, APPEND_FUNCTION)
            _execute(cursor, done, REFUSE_CHANGES_FUNCTION)
            _execute(cursor, done, "DROP TRIGGER IF EXISTS access_log_append_only ON access_log")
            _execute(cursor, done, TRIGGER)
            _execute(
                cursor, done, sql.SQL("COMMENT ON TABLE access_log IS {}").format(sql.Literal(mark))
            )
        cursor.execute(
            "SELECT p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a "
            "WHERE a.grantee = 0) FROM pg_proc p WHERE p.oid = %s::regprocedure",
            [APPEND_SIGNATURE],
        )
        if cursor.fetchone()[0]:
            _execute(
                cursor,
                done,
                f"REVOKE ALL ON FUNCTION {APPEND_SIGNATURE} FROM PUBLIC",
            )
        cursor.execute(
            "SELECT r.rolname FROM pg_roles r WHERE r.rolname = ANY(%s) AND NOT "
            "has_function_privilege(r.rolname, %s, 'EXECUTE')",
            [[roles.WEB_ROLE, roles.SIGNED_IN_ROLE], APPEND_SIGNATURE],
        )
        missing = [row[0] for row in cursor.fetchall()]
        for role in missing:
            _execute(
                cursor,
                done,
                sql.SQL(f"GRANT EXECUTE ON FUNCTION {APPEND_SIGNATURE} TO {{}}").format(
                    sql.Identifier(role)
                ),
            )
    return done
