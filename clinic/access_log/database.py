"""Database side of the access log: the append function, the chain, append-only enforcement.

Canonical content of a row (what its hash covers), as text joined with '|':
    id, occurred_at (UTC, microseconds), staff_id, role, action, patient_id, object_id,
    client_ip, outcome, reason
and hash = sha256(prev_hash || '|' || content), hex. The first row's prev_hash is 64 zeros.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic import roles
from clinic.provisioning import _fingerprint, register_step

GENESIS = "0" * 64
APPEND_SIGNATURE = "append_access_event(text, uuid, text, inet, text, text)"
# The earlier form took the staff id and role as arguments: anyone could write in anyone's name.
OLD_APPEND_SIGNATURE = "append_access_event(integer, text, text, uuid, text, inet, text, text)"
CANONICAL = """concat_ws('|', e.id::text,
    to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    coalesce(e.staff_id::text, ''), e.role, e.action, coalesce(e.patient_id::text, ''),
    e.object_id, coalesce(host(e.client_ip), ''), e.outcome, e.reason)"""

APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.append_access_event(
    p_action text, p_patient_id uuid, p_object_id text, p_client_ip inet, p_outcome text,
    p_reason text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    e public.access_log%ROWTYPE;
BEGIN
    -- One writer at a time, so the chain never forks; held to the end of the transaction.
    PERFORM pg_advisory_xact_lock(hashtext('clinic.access_log'));
    SELECT hash INTO e.prev_hash FROM public.access_log ORDER BY id DESC LIMIT 1;
    e.prev_hash := coalesce(e.prev_hash, '{GENESIS}');
    e.id := nextval(pg_get_serial_sequence('public.access_log', 'id'));
    e.occurred_at := clock_timestamp();
    -- Who and as what: the verified staff identity (clinic/staff_identity.py), never an argument.
    -- Runs as the audit owner: it calls only that owner's functions and pg_catalog's.
    e.staff_id := public.clinic_staff_id();
    e.role := CASE WHEN e.staff_id IS NULL THEN NULL ELSE public.clinic_staff_role() END;
    e.role := left(coalesce(e.role, 'anonymous'), 40);
    e.action := left(p_action, 40);
    e.patient_id := p_patient_id;
    e.object_id := left(coalesce(p_object_id, ''), 64);
    e.client_ip := p_client_ip;
    e.outcome := left(coalesce(p_outcome, ''), 20);
    e.reason := left(coalesce(p_reason, ''), 200);
    e.hash := encode(sha256(convert_to(e.prev_hash || '|' || {CANONICAL}, 'UTF8')), 'hex');
    INSERT INTO public.access_log VALUES (e.*);
    RETURN e.id;
END
$fn$"""

# A list's events in one call (docs/accountability.md, "Lists: one append for the page"): the
# same rows, the same chain, one lock and one INSERT. Only a signed-in request may call it.
BATCH_APPEND_SIGNATURE = "append_access_events(text[], uuid[], text[], inet[], text[], text[])"
# Who may call it: the signed-in roles (every group role inherits clinic_signed_in), not the web
# login before sign-in, nor the owner login (its commands append one event at a time).
BATCH_APPENDERS = [roles.SIGNED_IN_ROLE]
BATCH_APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.append_access_events(
    p_actions text[], p_patient_ids uuid[], p_object_ids text[], p_client_ips inet[],
    p_outcomes text[], p_reasons text[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    e public.access_log%ROWTYPE;
    batch public.access_log[] := '{{}}';
    n integer := coalesce(cardinality(p_actions), 0);
    author integer;
    author_role text;
BEGIN
    IF coalesce(cardinality(p_patient_ids), 0) <> n
       OR coalesce(cardinality(p_object_ids), 0) <> n
       OR coalesce(cardinality(p_client_ips), 0) <> n
       OR coalesce(cardinality(p_outcomes), 0) <> n
       OR coalesce(cardinality(p_reasons), 0) <> n THEN
        RAISE EXCEPTION 'append_access_events: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Who and as what: the verified staff identity, never an argument. A list is shown to a
    -- signed-in user only: no verified identity, no events (the single append keeps the
    -- anonymous ones of sign-in).
    author := public.clinic_staff_id();
    IF author IS NULL THEN
        RAISE EXCEPTION 'append_access_events: no verified staff identity'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    author_role := left(coalesce(public.clinic_staff_role(), 'anonymous'), 40);
    IF n = 0 THEN
        RETURN 0;
    END IF;
    -- The single append's lock: one writer at a time, to the end of the transaction.
    PERFORM pg_advisory_xact_lock(hashtext('clinic.access_log'));
    SELECT hash INTO e.prev_hash FROM public.access_log ORDER BY id DESC LIMIT 1;
    e.prev_hash := coalesce(e.prev_hash, '{GENESIS}');
    FOR i IN 1 .. n LOOP
        e.id := nextval(pg_get_serial_sequence('public.access_log', 'id'));
        e.occurred_at := clock_timestamp();
        e.staff_id := author;
        e.role := author_role;
        e.action := left(p_actions[i], 40);
        e.patient_id := p_patient_ids[i];
        e.object_id := left(coalesce(p_object_ids[i], ''), 64);
        e.client_ip := p_client_ips[i];
        e.outcome := left(coalesce(p_outcomes[i], ''), 20);
        e.reason := left(coalesce(p_reasons[i], ''), 200);
        e.hash := encode(sha256(convert_to(e.prev_hash || '|' || {CANONICAL}, 'UTF8')), 'hex');
        batch := array_append(batch, e);
        e.prev_hash := e.hash;
    END LOOP;
    -- In array order, which is id order: the chain as if appended one by one.
    INSERT INTO public.access_log SELECT * FROM unnest(batch);
    RETURN n;
END
$fn$"""

REFUSE_SIGNATURE = "access_log_refuse_change()"
REFUSE_CHANGES_FUNCTION = """
CREATE OR REPLACE FUNCTION public.access_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'access_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$"""

TRIGGER = """
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON public.access_log
FOR EACH STATEMENT EXECUTE FUNCTION public.access_log_refuse_change()"""

VERIFY_QUERY = f"""
SELECT e.id, e.prev_hash, e.hash,
       encode(sha256(convert_to(e.prev_hash || '|' || {CANONICAL}, 'UTF8')), 'hex') AS computed
FROM access_log e WHERE e.id >= %s ORDER BY e.id LIMIT %s"""
FIRST_ID = -(2**63)  # the walk's lower bound: every bigint id, a row planted below 1 included


def objects_sql() -> list[str]:
    """The append functions (one event; a list's events), the append-only trigger and its
    function, the verified checkpoints and the per-patient index (checkpoint.py), made by the
    audit owner (clinic/bootstrap.py)."""
    from clinic.access_log import checkpoint

    return [
        APPEND_FUNCTION,
        BATCH_APPEND_FUNCTION,
        f"REVOKE ALL ON FUNCTION {BATCH_APPEND_SIGNATURE} FROM PUBLIC",
        REFUSE_CHANGES_FUNCTION,
        "DROP TRIGGER IF EXISTS access_log_append_only ON public.access_log",
        TRIGGER,
        *checkpoint.objects_sql(CANONICAL, GENESIS),
    ]


def objects_mark() -> str:
    # The owner is part of what the mark covers: a log still owned by the owner login is redone.
    return _fingerprint(roles.AUDIT_OWNER + "".join(objects_sql()))


@register_step(order=20)
def access_log_objects(connection: BaseDatabaseWrapper) -> list[str]:
    """The owner login makes nothing here: the log, its function and its trigger belong to the
    audit owner (clinic/bootstrap.py). It checks that they do, and are as declared."""
    from clinic.bootstrap_needed import HINT, BootstrapNeeded

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner) "
            "FROM pg_class c WHERE c.oid = 'public.access_log'::regclass"
        )
        mark, owner = cursor.fetchone()
    if mark != objects_mark() or owner != roles.AUDIT_OWNER:
        raise BootstrapNeeded(f"the access log is not the audit owner's yet: {HINT}")
    return []
