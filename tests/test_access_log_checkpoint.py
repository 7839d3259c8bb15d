"""Incremental verification of the access log from its last verified checkpoint
(clinic/access_log/checkpoint.py): what it still detects, and who cannot forge a checkpoint.

Tampering is the cluster superuser's raw SQL with triggers off (tests/test_access_log.tamper);
the forging attempts are the web and owner logins' raw SQL on the real cluster."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connections, transaction

from clinic import roles
from clinic.access_log.chain import chain_head, verify_and_checkpoint, verify_chain
from clinic.access_log.checkpoint import PATIENT_INDEX, TABLE
from clinic.access_log.database import CANONICAL
from tests.db_helpers import run_as
from tests.test_access_log import append_events, tamper

pytestmark = pytest.mark.usefixtures("clinic_db")


def verify(*args: str, **options) -> str:
    out = StringIO()
    call_command("verify_access_log", *args, stdout=out, **options)
    return out.getvalue()


def checkpoints() -> list[tuple]:
    with connections["owner"].cursor() as cursor:
        cursor.execute(f"SELECT log_id, log_hash, rows_checked, full_walk FROM {TABLE} ORDER BY id")
        return cursor.fetchall()


def rehash_from(first_id: int) -> str:
    """Recompute every hash from `first_id` on, as an attacker who rewrote that row would to
    keep the chain itself consistent."""
    return f"""
DO $$
DECLARE e public.access_log%ROWTYPE; prev text;
BEGIN
    SELECT hash INTO prev FROM public.access_log WHERE id < {first_id} ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    FOR e IN SELECT * FROM public.access_log WHERE id >= {first_id} ORDER BY id LOOP
        e.prev_hash := prev;
        e.hash := encode(sha256(convert_to(prev || '|' || {CANONICAL}, 'UTF8')), 'hex');
        UPDATE public.access_log SET prev_hash = e.prev_hash, hash = e.hash WHERE id = e.id;
        prev := e.hash;
    END LOOP;
END $$"""


# --- the walk starts at the checkpoint --------------------------------------------------------


def test_the_first_run_walks_everything_and_records_the_head():
    append_events(6)
    output = verify()
    head_id, head_hash, _ = chain_head()
    assert "6 row(s) checked" in output and "from the first row" in output
    assert "new checkpoint recorded" in output
    assert checkpoints() == [(head_id, head_hash, 6, True)]


def test_the_next_run_checks_only_the_rows_after_the_checkpoint():
    append_events(6)
    verify()
    append_events(3)
    output = verify()
    assert "3 row(s) checked" in output and "from checkpoint id 6" in output
    assert [c[:3] for c in checkpoints()][-1] == (9, chain_head()[1], 3)
    assert "0 row(s) checked" in verify() and "no new rows" in verify()
    assert len(checkpoints()) == 2


def test_full_walks_the_whole_chain_again():
    append_events(6)
    verify()
    append_events(2)
    output = verify(full=True)
    assert "8 row(s) checked" in output and "from the first row" in output
    assert checkpoints()[-1][2:] == (8, True)


# --- what the incremental run still detects ---------------------------------------------------


def test_a_row_changed_after_the_checkpoint_is_detected():
    append_events(4)
    verify()
    append_events(4)
    tamper("UPDATE access_log SET outcome = 'edited' WHERE id = 6")
    with pytest.raises(CommandError, match=r"BROKEN at id 6: content does not match"):
        verify()
    assert len(checkpoints()) == 1  # nothing recorded over a broken chain


def test_a_row_deleted_after_the_checkpoint_is_detected():
    append_events(4)
    verify()
    append_events(3)
    tamper("DELETE FROM access_log WHERE id = 5")  # the first row after the checkpoint
    with pytest.raises(CommandError, match=r"BROKEN at id 6: prev_hash does not match"):
        verify()


def test_a_tail_cut_below_the_checkpoint_is_detected():
    append_events(6)
    verify()
    tamper("DELETE FROM access_log WHERE id >= 4")
    assert verify_chain().ok  # the shorter chain is a chain...
    with pytest.raises(CommandError, match=r"BROKEN at id 6: checkpoint row is gone"):
        verify()


def test_a_tail_cut_after_the_checkpoint_is_detected_by_the_anchor():
    append_events(4)
    verify()
    append_events(4)
    head_id, head_hash, _ = chain_head()
    tamper(f"DELETE FROM access_log WHERE id >= {head_id - 1}")
    verify()  # ...and the rows after the checkpoint still link up
    with pytest.raises(CommandError, match="anchor 8 is missing or changed"):
        verify(anchor=[f"{head_id}:{head_hash}"])


def test_a_rewrite_before_the_checkpoint_with_every_hash_recomputed_is_detected():
    append_events(8)
    verify()
    tamper("UPDATE access_log SET outcome = 'edited' WHERE id = 3", rehash_from(3))
    assert verify_chain().ok  # the chain alone cannot tell
    with pytest.raises(CommandError, match=r"BROKEN at id 8: checkpoint row has another hash"):
        verify()
    with pytest.raises(CommandError, match="checkpoint row has another hash"):
        verify(full=True)


def test_an_edit_of_the_checkpoint_row_itself_is_detected():
    append_events(5)
    verify()
    tamper("UPDATE access_log SET reason = 'edited' WHERE id = 5")
    with pytest.raises(CommandError, match=r"BROKEN at id 5: checkpoint row does not match"):
        verify()


def test_an_edit_before_the_checkpoint_is_left_to_full():
    append_events(6)
    verify()
    tamper("UPDATE access_log SET outcome = 'edited' WHERE id = 2")
    verify()  # documented: the incremental run reads nothing before the checkpoint
    with pytest.raises(CommandError, match=r"BROKEN at id 2: content does not match"):
        verify(full=True)


# --- nobody forges a checkpoint ---------------------------------------------------------------

FORGERIES = {
    "insert": f"INSERT INTO {TABLE} (log_id, log_hash, rows_checked, full_walk, verified_at, "
    "verified_by) VALUES (1, repeat('a', 64), 0, true, now(), 'x')",
    "update": f"UPDATE {TABLE} SET log_hash = repeat('a', 64)",
    "delete": f"DELETE FROM {TABLE}",
    "truncate": f"TRUNCATE {TABLE}",
    "disable trigger": f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
    "replace verifier": "CREATE OR REPLACE FUNCTION access_log_verify(p_full boolean) RETURNS "
    "TABLE (checked bigint, broken_id bigint, problem text, start_id bigint, head_id bigint, "
    "head_hash text, checkpointed boolean) LANGUAGE sql AS $$ SELECT 0::bigint, NULL::bigint, "
    "NULL::text, 0::bigint, NULL::bigint, NULL::text, false $$",
    "drop index": f"DROP INDEX {PATIENT_INDEX}",
}


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_the_owner_login_cannot_forge_or_drop_a_checkpoint(attack):
    append_events(3)
    verify()
    before = checkpoints()
    with pytest.raises(DatabaseError, match="permission denied|must be owner"):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(FORGERIES[attack])
    assert checkpoints() == before


@pytest.mark.parametrize("role", [None, *roles.GROUP_ROLES.values()])
@pytest.mark.parametrize("attack", ["insert", "update", "delete", "verify", "read"])
def test_the_web_login_cannot_touch_the_checkpoints_or_run_the_verifier(staff, role, attack):
    append_events(3)
    verify()
    statement = {
        "verify": "SELECT * FROM access_log_verify(true)",
        "read": f"SELECT log_hash FROM {TABLE}",
    }.get(attack, FORGERIES.get(attack))
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(role, statement, user_id=staff["admin"].pk)


def test_the_verifier_records_no_checkpoint_over_a_broken_chain():
    append_events(5)
    tamper("UPDATE access_log SET outcome = 'edited' WHERE id = 4")
    report = verify_and_checkpoint()
    assert (report.broken_id, report.checkpointed) == (4, False)
    assert checkpoints() == []


def test_the_checkpoints_refuse_changes_even_from_their_owner():
    from localdb import cluster
    from tests.conftest import TEST_DATABASE

    append_events(2)
    verify()
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        for statement in (FORGERIES["update"], FORGERIES["delete"]):
            with pytest.raises(Exception, match="append-only"), conn.transaction():
                conn.execute(f"SET LOCAL ROLE {roles.AUDIT_OWNER}")
                conn.execute(statement)
    assert len(checkpoints()) == 1


# --- the per-patient report reads an index in its order ----------------------------------------


def test_the_patient_report_query_reads_the_patient_index():
    """The page's statement, as the privacy officer runs it, finds the patient's events through
    `access_log_patient_time`. At this size (20,000 rows) the planner may read it as a bitmap
    and sort a patient's 100 events, or walk it in order; which one depends on the statistics
    of the moment (it differed between two databases of identical schema and settings), so this
    test asserts only the index. The in-order, index-only walk at 10M events is measured by
    benchmarks/access_log_scale.py (docs/benchmarks.md)."""
    from localdb import cluster
    from privacy.selectors import patient_page_query
    from tests.conftest import TEST_DATABASE

    # 20,000 events about 200 patients (the chain is not the point here: no hashes computed).
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute(
            "INSERT INTO access_log (id, occurred_at, staff_id, role, action, patient_id, "
            "object_id, outcome, reason, prev_hash, hash) SELECT n, now() - n * interval '1 s', "
            "n % 7, 'clinic_clinician', 'chart_viewed', "
            "('00000000-0000-4000-8000-' || lpad((n % 200)::text, 12, '0'))::uuid, '', 'ok', "
            "'', '', md5(n::text) FROM generate_series(1, 20000) n"
        )
        conn.execute("VACUUM (ANALYZE) access_log")  # as autovacuum does after inserts
    patient = "00000000-0000-4000-8000-000000000007"
    for sort in ("-when", "when"):
        # The page's statement as the privacy officer runs it.
        sql, params = patient_page_query(patient, sort, 50).query.sql_with_params()
        plan = run_as("clinic_privacy_officer", f"EXPLAIN {sql}", list(params), 999_999)
        text = "\n".join(row[0] for row in plan)
        assert re.search(rf"(using|on) {PATIENT_INDEX}\b", text), text
