"""Verified checkpoints of the access log's chain, and the index of the per-patient report.

`verify_access_log` walks the chain from the last checkpoint instead of from the first row: at
100M events a full walk takes minutes, a day's tail seconds. A checkpoint is (id, hash) of the
newest row a verification found intact. It is worth what its writer is worth, so:

- the table `access_log_checkpoints` belongs to the audit owner (clinic/bootstrap.py), like the
  log; no login may INSERT, UPDATE or DELETE it, and a trigger refuses changes even to its owner;
- the only writer is `access_log_verify(full)`, SECURITY DEFINER, which trusts no argument: it
  re-checks the previous checkpoint against its row (still there, same hash, content matching
  the hash), walks every link from there (or from the first row, `full`) to the head, and writes
  a checkpoint only when all of them hold. A caller can make it verify, never make it record a
  head it did not verify. Only the owner login may call it (the command runs as the owner).

What that buys, and what it does not (docs/accountability.md, "Incremental verification"):
a changed or deleted row after the checkpoint breaks a link in the walk; a cut below the
checkpoint, or a rewrite before it with every later hash recomputed, changes or removes the
checkpoint's row; a cut after it is caught by the external anchor (`--anchor`, as before); an
edit before the checkpoint that leaves the stored hashes alone is caught by `--full` only. The
superuser can rewrite both the log and the checkpoints: against that only an anchor kept outside
the database helps (`access_log_head`, published daily).
"""

from __future__ import annotations

from clinic import roles

TABLE = "access_log_checkpoints"
VERIFY_SIGNATURE = "access_log_verify(boolean)"
# The privacy officer's per-patient report: WHERE patient_id = ? ORDER BY occurred_at, id (either
# direction), 50 a page, and its count (privacy/views/reports.py). Partial: events about no
# patient (sign-ins, exports) are a large share of the log and never asked for here.
PATIENT_INDEX = "access_log_patient_time"
PATIENT_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {PATIENT_INDEX} ON public.access_log "
    "(patient_id, occurred_at, id) WHERE patient_id IS NOT NULL"
)

# Indexes the log does not need, each one an index insertion on every append (issue 20): the
# varchar_pattern_ops twins Django adds beside an index on a varchar column (no query on the log
# uses LIKE) and a one-column index on patient_id (PATIENT_INDEX leads with it, and
# `patient_id = x` implies its predicate). Found by definition, not by Django's generated names;
# the bootstrap drops them as the log's owner (Django's migrations cannot: the owner login does
# not own the log).
REDUNDANT_INDEXES_SQL = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'public.access_log'::regclass AND NOT i.indisunique AND NOT i.indisprimary
  AND (position('varchar_pattern_ops' in pg_get_indexdef(i.indexrelid)) > 0
       OR (i.indnatts = 1 AND i.indpred IS NULL
           AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                              WHERE attrelid = 'public.access_log'::regclass
                                AND attname = 'patient_id')))
ORDER BY 1"""

# The unique constraint on `hash` alone (Django's `unique=True`, dropped in clinic/0009): its
# keys arrive in random order, so in a log larger than memory every append read pages of a
# 100M-entry index from disk (appends 0.65-0.71x at 100M, docs/benchmarks.md). It guarded
# nothing the chain does not: a row's hash covers its own id (CANONICAL, database.py), which the
# primary key keeps unique, so two rows share a hash only by a SHA-256 collision; and a copied or
# replayed row fails the walk, which recomputes each hash from its row and checks each link
# (tests/test_access_log.py). Found by definition, dropped by the bootstrap as the log's owner.
REDUNDANT_CONSTRAINTS_SQL = """
SELECT con.conname FROM pg_constraint con
WHERE con.conrelid = 'public.access_log'::regclass AND con.contype = 'u'
  AND con.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                          WHERE attrelid = 'public.access_log'::regclass
                            AND attname = 'hash')]::int2[]
ORDER BY 1"""

TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS public.{TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log_id bigint NOT NULL,
    log_hash text NOT NULL,
    rows_checked bigint NOT NULL,
    full_walk boolean NOT NULL,
    verified_at timestamptz NOT NULL,
    verified_by text NOT NULL)"""

TRIGGER_SQL = [
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON public.{TABLE}",
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON public.{TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION public.access_log_refuse_change()",
]

BROKEN_LINK = "prev_hash does not match the previous row (deleted or reordered)"
EDITED = "content does not match its hash (edited)"
CHECKPOINT_MISSING = "checkpoint row is gone (rows deleted or the tail cut off)"
CHECKPOINT_CHANGED = "checkpoint row has another hash (rewritten before the checkpoint)"
CHECKPOINT_EDITED = "checkpoint row does not match its hash (edited)"


def function_sql(canonical: str, genesis: str) -> str:
    # `canonical` and `genesis` are database.py's constants (the same text the append function
    # hashes); `e` is the row in both.
    computed = f"encode(sha256(convert_to(e.prev_hash || '|' || {canonical}, 'UTF8')), 'hex')"
    # Constants of this module and database.py only, no input.
    return f"""
CREATE OR REPLACE FUNCTION public.access_log_verify(p_full boolean DEFAULT false)
RETURNS TABLE (checked bigint, broken_id bigint, problem text, start_id bigint, head_id bigint,
               head_hash text, checkpointed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k record;      -- the last checkpoint
    at_k record;   -- its row in the log
    r record;
    expected text;
    until_id bigint;
    from_id bigint;
BEGIN
    -- One verifier at a time: two would both write a checkpoint for the same head.
    PERFORM pg_advisory_xact_lock(hashtext('clinic.access_log_checkpoints'));
    checked := 0;
    checkpointed := false;
    SELECT c.log_id, c.log_hash INTO k FROM public.{TABLE} c ORDER BY c.id DESC LIMIT 1;
    -- Events appended during the walk wait for the next run.
    SELECT e.id INTO until_id FROM public.access_log e ORDER BY e.id DESC LIMIT 1;
    IF k.log_id IS NOT NULL THEN
        -- The checkpoint must still name its row, with the same hash, matching its content.
        SELECT e.hash, {computed} AS computed INTO at_k
        FROM public.access_log e WHERE e.id = k.log_id;
        IF NOT FOUND THEN
            problem := '{CHECKPOINT_MISSING}';
        ELSIF at_k.hash <> k.log_hash THEN
            problem := '{CHECKPOINT_CHANGED}';
        ELSIF at_k.computed <> at_k.hash THEN
            problem := '{CHECKPOINT_EDITED}';
        END IF;
        IF problem IS NOT NULL THEN
            broken_id := k.log_id;
            start_id := k.log_id;
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    IF p_full OR k.log_id IS NULL THEN
        -- Every row, whatever its id: a row planted below the first id is walked too.
        start_id := 0;
        from_id := -9223372036854775808;
        expected := '{genesis}';
    ELSE
        start_id := k.log_id;
        from_id := k.log_id + 1;
        expected := k.log_hash;
    END IF;
    head_id := nullif(start_id, 0);
    FOR r IN
        SELECT e.id, e.prev_hash, e.hash, {computed} AS computed
        FROM public.access_log e WHERE e.id >= from_id AND e.id <= until_id ORDER BY e.id
    LOOP
        checked := checked + 1;
        IF r.prev_hash <> expected THEN
            problem := '{BROKEN_LINK}';
        ELSIF r.computed <> r.hash THEN
            problem := '{EDITED}';
        END IF;
        IF problem IS NOT NULL THEN
            broken_id := r.id;
            RETURN NEXT;
            RETURN;
        END IF;
        expected := r.hash;
        head_id := r.id;
    END LOOP;
    head_hash := expected;
    IF head_id > coalesce(k.log_id, 0) THEN
        INSERT INTO public.{TABLE}
            (log_id, log_hash, rows_checked, full_walk, verified_at, verified_by)
        VALUES (head_id, head_hash, checked, p_full OR k.log_id IS NULL, clock_timestamp(),
                session_user);
        checkpointed := true;
    END IF;
    RETURN NEXT;
END
$fn$"""  # noqa: S608


def objects_sql(canonical: str, genesis: str) -> list[str]:
    """Made by the audit owner after the log's own objects (database.objects_sql)."""
    return [
        TABLE_SQL,
        *TRIGGER_SQL,
        function_sql(canonical, genesis),
        f"REVOKE ALL ON FUNCTION {VERIFY_SIGNATURE} FROM PUBLIC",
        PATIENT_INDEX_SQL,
    ]


# Any of them missing (dropped by the superuser, or a log sealed before they existed) makes the
# bootstrap run objects_sql again even though the log's mark is current.
MISSING_SQL = (
    f"SELECT to_regclass('public.{TABLE}') IS NULL OR to_regclass('public.{PATIENT_INDEX}') "
    f"IS NULL OR to_regprocedure('{VERIFY_SIGNATURE}') IS NULL"
)
# Who may call the verifier: the owner login (manage.py verify_access_log).
VERIFIERS = [roles.OWNER_ROLE]
