"""The batched append (`append_access_events`, clinic/access_log/database.py): a request's held
events, a list's patients, in one statement. Every attack runs raw SQL on the web login's
connection, as an injected statement would: the author is the verified identity, never an
argument or a setting SQL can choose; nobody may call it before sign-in; the events land in
order on the one chain, which both verifiers accept."""

from __future__ import annotations

import time

import pytest
from django.db import DatabaseError, connections, transaction

from clinic import access_log, roles
from clinic.access_log.chain import verify_and_checkpoint, verify_chain
from clinic.db_context import apply_context
from tests.factories import PatientFactory
from tests.privacy_helpers import events
from tests.test_access_log import append_events

pytestmark = pytest.mark.usefixtures("clinic_db")
FRONT_DESK = roles.GROUP_ROLES[roles.FRONT_DESK]
PRIVACY = roles.GROUP_ROLES[roles.PRIVACY_OFFICER]


def rows(count: int, *, label: str = "batch", patients: list | None = None) -> list[list]:
    patients = patients or [None] * count
    return [
        [access_log.APPOINTMENTS_LISTED, str(p.pk) if p else None, f"{label}-{n}", None, "ok", ""]
        for n, p in enumerate(patients)
    ]


def columns(batch: list[list]) -> list[list]:
    return [list(column) for column in zip(*batch, strict=True)] or [[] for _ in range(6)]


def append_batch(role: str | None, staff_id: int | None, batch: list[list], *, before: str = ""):
    """Commit one batch on the web connection, in the context of `staff_id`'s request as
    `role` (None: before sign-in, the bare web login), after `before` (injected SQL)."""
    with transaction.atomic(using="default"):
        if role is not None:
            apply_context(role, staff_id)
        with connections["default"].cursor() as cursor:
            if before:
                cursor.execute(before)
            cursor.execute(access_log.BATCH_APPEND_SQL, columns(batch))
            return cursor.fetchone()[0]


def refused(role: str | None, staff_id: int | None, batch: list[list], **kwargs) -> str:
    with pytest.raises(DatabaseError) as error:
        append_batch(role, staff_id, batch, **kwargs)
    return str(error.value)


def test_a_batch_of_n_lands_as_n_chained_events_in_order(staff):
    append_events(2)  # the chain already has a head (and the personas' creation events)
    patients = [PatientFactory() for _ in range(4)]
    earlier = len(events())
    assert append_batch(FRONT_DESK, staff["frontdesk"].pk, rows(4, patients=patients)) == 4
    everything = events()
    listed = everything[earlier:]
    assert [e.object_id for e in listed] == [f"batch-{n}" for n in range(4)]
    assert [e.patient_id for e in listed] == [p.pk for p in patients]
    assert {(e.staff_id, e.role) for e in listed} == {(staff["frontdesk"].pk, FRONT_DESK)}
    for before, after in zip(everything, everything[1:], strict=False):
        assert after.prev_hash == before.hash and after.occurred_at >= before.occurred_at
    report = verify_chain()
    assert report.ok and report.rows_checked == earlier + 4


def test_both_verifiers_accept_a_log_with_batches(staff):
    append_batch(FRONT_DESK, staff["frontdesk"].pk, rows(3))
    full = verify_and_checkpoint(full=True)
    assert full.ok and full.rows_checked == len(events()) and full.checkpointed
    append_events(1)
    append_batch(FRONT_DESK, staff["frontdesk"].pk, rows(5, label="later"))
    incremental = verify_and_checkpoint()
    assert incremental.ok and incremental.rows_checked == 6 and incremental.start_id == full.head_id
    again = verify_and_checkpoint(full=True)
    assert again.ok and again.rows_checked == len(events())


def test_an_edited_batched_event_breaks_the_chain(staff):
    from tests.test_access_log import tamper

    append_batch(FRONT_DESK, staff["frontdesk"].pk, rows(3))
    middle = events(access_log.APPOINTMENTS_LISTED)[1]
    tamper(f"UPDATE access_log SET object_id = 'edited' WHERE id = {int(middle.pk)}")
    report = verify_chain()
    assert not report.ok and report.broken_id == middle.pk


def test_the_author_is_the_verified_caller_never_an_argument(staff):
    """The earlier single append's mistake, a staff id and role as arguments, is not
    repeated: no such signature exists, and the events name the caller."""
    desk = staff["frontdesk"].pk
    message = refused(
        FRONT_DESK,
        desk,
        [],
        before="SELECT append_access_events("
        f"{int(staff['privacy'].pk)}, '{PRIVACY}', ARRAY['chart_viewed'], ARRAY[NULL]::uuid[], "
        "ARRAY['forged'], ARRAY[NULL]::inet[], ARRAY['ok'], ARRAY[''])",
    )
    assert "does not exist" in message
    append_batch(FRONT_DESK, desk, rows(2))
    listed = events(access_log.APPOINTMENTS_LISTED)
    assert len(listed) == 2 and {(e.staff_id, e.role) for e in listed} == {(desk, FRONT_DESK)}
    assert not events(object_id="forged")


def test_a_forged_token_writes_nothing(staff):
    """SQL that names a colleague with a token it made up (the MAC does not verify) is refused:
    no event in anyone's name, not even anonymous."""
    colleague = staff["privacy"].pk
    forged = f"{colleague}.{PRIVACY}.{int(time.time()) + 600}.{'0' * 64}"
    message = refused(
        FRONT_DESK,
        staff["frontdesk"].pk,
        rows(2),
        before=f"SELECT set_config('app.staff_token', '{forged}', true), "
        f"set_config('application_name', 'staff:{colleague}/{PRIVACY}', true)",
    )
    assert "no verified staff identity" in message
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_before_sign_in_the_batch_is_refused(staff):
    # The bare web login holds no right on it.
    assert "permission denied" in refused(None, None, rows(2))
    # A role switched to by hand, with no staff identity: the function refuses it itself.
    message = refused(
        None, None, rows(2), before=f"SELECT set_config('role', '{FRONT_DESK}', true)"
    )
    assert "no verified staff identity" in message
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_roles_that_do_not_sign_in_to_pages_may_not_call_it():
    """The owner login (commands, demo data) appends one event at a time; no right here."""
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(access_log.BATCH_APPEND_SQL, columns(rows(1)))
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname FROM pg_roles r WHERE has_function_privilege(r.oid, "
            "'append_access_events(text[], uuid[], text[], inet[], text[], text[])', 'EXECUTE') "
            "AND r.rolname LIKE 'clinic%%' AND NOT pg_has_role(r.oid, %s, 'USAGE') "
            "ORDER BY 1",
            [roles.SIGNED_IN_ROLE],
        )
        assert cursor.fetchall() == [(roles.AUDIT_OWNER,)]
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_arrays_of_different_lengths_are_refused(staff):
    with pytest.raises(DatabaseError, match="differ in length"):
        with transaction.atomic(using="default"):
            apply_context(FRONT_DESK, staff["frontdesk"].pk)
            with connections["default"].cursor() as cursor:
                batch = columns(rows(3))
                batch[1] = batch[1][:2]
                cursor.execute(access_log.BATCH_APPEND_SQL, batch)
    assert events(access_log.APPOINTMENTS_LISTED) == []


def test_an_empty_batch_writes_nothing(staff):
    head = verify_chain().head_hash
    assert append_batch(FRONT_DESK, staff["frontdesk"].pk, []) == 0
    assert verify_chain().head_hash == head
