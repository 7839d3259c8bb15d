"""The access log: every flow on this branch writes its event; the chain verifies and detects
tampering; no application role may change it; concurrent writers do not fork the chain."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connections, transaction

from clinic import access_log, roles
from clinic.access_log.chain import chain_head, verify_and_checkpoint, verify_chain
from clinic.db_context import apply_context
from localdb import cluster
from tests.conftest import PASSWORD, TEST_DATABASE
from tests.factories import BreakGlassGrantFactory, PatientFactory
from tests.privacy_helpers import actions, events
from tests.test_session_lifetime import age_session, signed_in
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")


# --- every event kind this branch's flows write ----------------------------------------------
# Each flow drives the application like a user would. Branches that add flows (patient search,
# chart views, records, exports) add their own (action, flow) pairs in their own tests.


def flow_sign_in(client, client_for, staff, patient):
    sign_in(client, "t-clinician")


def flow_sign_in_failed(client, client_for, staff, patient):
    sign_in(client, "t-clinician", "wrong-password-1")


def flow_sign_out(client, client_for, staff, patient):
    sign_in(client, "t-clinician")
    client.post("/account/sign-out/")


def flow_idle_logout(client, client_for, staff, patient):
    signed = signed_in(client_for, staff["clinician"])
    age_session(signed, idle=settings.SESSION_IDLE_SECONDS + 1)
    signed.get("/")


def flow_absolute_expiry(client, client_for, staff, patient):
    signed = signed_in(client_for, staff["clinician"])
    age_session(signed, absolute=settings.SESSION_ABSOLUTE_SECONDS + 1)
    signed.get("/")


def flow_lockout(client, client_for, staff, patient):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "t-frontdesk", "wrong-password-1")


def flow_unlock(client, client_for, staff, patient):
    flow_lockout(client, client_for, staff, patient)
    client_for(staff["privacy"]).post("/privacy/lockouts/unlock/", {"username": "t-frontdesk"})


def flow_access_refused(client, client_for, staff, patient):
    client_for(staff["analyst"]).get("/privacy/")


def flow_break_glass_started(client, client_for, staff, patient):
    client_for(staff["clinician"]).post(
        f"/break-glass/{patient.pk}/", {"password": PASSWORD, "reason_category": "emergency"}
    )


def flow_break_glass_ended(client, client_for, staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    client_for(staff["clinician"]).post(f"/break-glass/grants/{grant.pk}/end/")


def flow_break_glass_reviewed(client, client_for, staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    client_for(staff["privacy"]).post(f"/privacy/break-glass/{grant.pk}/", {"comment": "Fine."})


def flow_export(client, client_for, staff, patient):
    client_for(staff["privacy"]).post("/privacy/access-log.csv")


def flow_access_log_searched(client, client_for, staff, patient):
    client_for(staff["privacy"]).post("/privacy/access-log/", {"action": "sign_in"})


def flow_access_report_viewed(client, client_for, staff, patient):
    client_for(staff["privacy"]).get(f"/privacy/patients/{patient.pk}/")


def flow_disclosure_recorded(client, client_for, staff, patient):
    client_for(staff["privacy"]).post(
        f"/privacy/patients/{patient.pk}/disclosures/new/",
        {
            "disclosed_on": "2026-01-05",
            "recipient": "Test County Health Department",
            "description": "Test immunization record",
            "purpose": "Test public health reporting",
            "category": "public_health",
        },
    )


def flow_disclosure_accounting(client, client_for, staff, patient):
    client_for(staff["privacy"]).get(f"/privacy/patients/{patient.pk}/disclosures/accounting/")


FLOWS = [
    (access_log.SIGN_IN, flow_sign_in),
    (access_log.SIGN_IN_FAILED, flow_sign_in_failed),
    (access_log.SIGN_OUT, flow_sign_out),
    (access_log.IDLE_LOGOUT, flow_idle_logout),
    (access_log.SESSION_EXPIRED, flow_absolute_expiry),
    (access_log.LOCKOUT, flow_lockout),
    (access_log.UNLOCK, flow_unlock),
    (access_log.ACCESS_REFUSED, flow_access_refused),
    (access_log.BREAK_GLASS_STARTED, flow_break_glass_started),
    (access_log.BREAK_GLASS_ENDED, flow_break_glass_ended),
    (access_log.BREAK_GLASS_REVIEWED, flow_break_glass_reviewed),
    (access_log.EXPORT, flow_export),
    (access_log.ACCESS_LOG_SEARCHED, flow_access_log_searched),
    (access_log.ACCESS_REPORT_VIEWED, flow_access_report_viewed),
    (access_log.DISCLOSURE_RECORDED, flow_disclosure_recorded),
    (access_log.DISCLOSURE_ACCOUNTING, flow_disclosure_accounting),
]


# Who each flow's event names (a persona of the `staff` fixture, or None for an anonymous
# request) and whether it is tied to the patient the flow acted on.
WHO = {
    access_log.SIGN_IN: ("clinician", False),
    access_log.SIGN_IN_FAILED: (None, False),
    access_log.SIGN_OUT: ("clinician", False),
    access_log.IDLE_LOGOUT: ("clinician", False),
    access_log.SESSION_EXPIRED: ("clinician", False),
    access_log.LOCKOUT: (None, False),
    access_log.UNLOCK: ("privacy", False),
    access_log.ACCESS_REFUSED: ("analyst", False),
    access_log.BREAK_GLASS_STARTED: ("clinician", True),
    access_log.BREAK_GLASS_ENDED: ("clinician", True),
    access_log.BREAK_GLASS_REVIEWED: ("privacy", True),
    access_log.EXPORT: ("privacy", False),
    access_log.ACCESS_LOG_SEARCHED: ("privacy", False),
    access_log.ACCESS_REPORT_VIEWED: ("privacy", True),
    access_log.DISCLOSURE_RECORDED: ("privacy", True),
    access_log.DISCLOSURE_ACCOUNTING: ("privacy", True),
}


@pytest.mark.parametrize("action,flow", FLOWS, ids=[a for a, _ in FLOWS])
def test_flow_writes_its_event_and_the_chain_verifies(client, client_for, staff, action, flow):
    """The event is there, and names the staff member who acted (the database's verified id)
    and the patient acted on, not only the action."""
    patient = PatientFactory()
    flow(client, client_for, staff, patient)
    assert action in actions()
    persona, tied = WHO[action]
    event = events(action)[-1]
    assert event.staff_id == (staff[persona].pk if persona else None)
    assert event.patient_id == (patient.pk if tied else None)
    assert verify_chain().ok


# --- the chain -------------------------------------------------------------------------------


def append_events(count: int, *, staff_id: int | None = None) -> None:
    for n in range(count):
        access_log.record(
            None, access_log.SIGN_IN_FAILED, staff_id=staff_id, object_id=n, using="owner"
        )


def tamper(*statements: str) -> None:
    """As the cluster superuser, with triggers off: what an attacker with full access could do."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def verify_output() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_access_log", stdout=out)
    return out.getvalue()


def test_intact_chain_verifies_and_reports_rows_checked_and_time():
    append_events(25)
    output = verify_output()
    assert "intact" in output and "25 row(s) checked" in output and "s;" in output


def test_verification_walks_the_chain_in_batches():
    append_events(25)
    report = verify_chain(batch_size=4)
    assert report.ok and report.rows_checked == 25 and report.head_id == 25


def test_first_row_links_to_the_genesis_value():
    append_events(1)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT prev_hash FROM access_log WHERE id = 1")
        assert cursor.fetchone()[0] == "0" * 64


def test_edited_row_is_detected_at_its_id():
    append_events(5)
    tamper("UPDATE access_log SET outcome = 'edited' WHERE id = 3")
    with pytest.raises(CommandError, match=r"BROKEN at id 3: content does not match"):
        verify_output()


def test_edit_with_a_recomputed_hash_breaks_the_next_link():
    append_events(5)
    tamper(
        "UPDATE access_log SET outcome = 'edited', hash = repeat('a', 64) WHERE id = 3",
    )
    report = verify_chain()
    assert report.broken_id == 3  # the forged hash does not match the content
    assert not report.ok


def test_deleted_row_is_detected_at_the_next_id():
    append_events(5)
    tamper("DELETE FROM access_log WHERE id = 3")
    with pytest.raises(CommandError, match=r"BROKEN at id 4: prev_hash does not match"):
        verify_output()


def test_reordered_rows_are_detected():
    append_events(5)
    tamper(
        "UPDATE access_log SET id = -2 WHERE id = 2",
        "UPDATE access_log SET id = 2 WHERE id = 3",
        "UPDATE access_log SET id = 3 WHERE id = -2",
    )
    report = verify_chain()
    assert report.broken_id == 2


@pytest.mark.parametrize("where", ["at the head", "below the first id"])
def test_a_replayed_row_is_detected_without_a_unique_hash(where):
    """The log keeps no unique index on `hash` (issue 20: a random-order index on every append);
    a copy of an earlier row, hash and link included, is still caught by the walk: the hash
    covers the row's id, so under a new id its content no longer matches it."""
    append_events(5)
    new_id = 6 if where == "at the head" else 0  # the walk starts below any id, not at 1
    tamper(
        f"INSERT INTO access_log SELECT {new_id}, occurred_at, staff_id, role, action, "
        "patient_id, object_id, client_ip, outcome, reason, prev_hash, hash "
        "FROM access_log WHERE id = 1"
    )
    report = verify_chain()
    assert not report.ok
    assert report.broken_id == new_id
    walked = verify_and_checkpoint(full=True)  # the database's verifier, the same walk
    assert (walked.ok, walked.broken_id) == (False, new_id)


def test_cut_off_tail_is_detected_by_an_anchored_head():
    append_events(5)
    head_id, head_hash, _ = chain_head()
    out = verify_output()
    assert f"head id {head_id}" in out
    tamper(f"DELETE FROM access_log WHERE id >= {head_id - 1}")
    assert verify_chain().ok  # a shorter chain is still a chain...
    # ...but the run above recorded the head as its checkpoint, and its row is gone (a cut after
    # the checkpoint is left to the anchor: tests/test_access_log_checkpoint.py).
    with pytest.raises(CommandError, match="checkpoint row is gone"):
        call_command("verify_access_log", anchor=[f"{head_id}:{head_hash}"])


def test_head_command_prints_id_and_hash():
    from io import StringIO

    append_events(3)
    out = StringIO()
    call_command("access_log_head", stdout=out)
    head_id, head_hash, _ = chain_head()
    assert out.getvalue().startswith(f"{head_id}:{head_hash} ")


# --- append-only for every application role --------------------------------------------------

APP_ROLES = [roles.WEB_ROLE, roles.SIGNED_IN_ROLE, *roles.GROUP_ROLES.values()]
CHANGES = {
    "update": "UPDATE access_log SET reason = 'x'",
    "delete": "DELETE FROM access_log",
    "truncate": "TRUNCATE access_log",
    "insert": "INSERT INTO access_log (occurred_at, role, action, object_id, outcome, reason, "
    "prev_hash, hash) VALUES (now(), '', 'forged', '', '', '', '', 'f')",
}


@pytest.mark.parametrize("role", APP_ROLES)
def test_application_roles_cannot_change_the_log_directly(staff, role):
    # Setting up the personas logged their accounts' creation (accounts/security_events.py).
    before = verify_chain().rows_checked
    append_events(2)
    for statement in CHANGES.values():
        with pytest.raises(DatabaseError, match="permission denied"):
            with transaction.atomic(using="default"):
                if role != roles.WEB_ROLE:
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SELECT set_config('role', %s, true)", [role])
                with connections["default"].cursor() as cursor:
                    cursor.execute(statement)
    assert verify_chain().rows_checked == before + 2


@pytest.mark.parametrize("role", [None, *roles.GROUP_ROLES.values()])
def test_application_roles_append_only_through_the_function(staff, role):
    before = verify_chain().rows_checked
    with transaction.atomic(using="default"):
        apply_context(role, staff["clinician"].pk)
        with connections["default"].cursor() as cursor:
            cursor.execute(access_log.APPEND_SQL, ["sign_in", None, "", None, "ok", ""])
    assert verify_chain().rows_checked == before + 1


@pytest.mark.parametrize("statement", ["update", "delete", "truncate"])
def test_even_the_owner_login_is_refused(statement):
    # It owns the log no longer (clinic/bootstrap.py): no right at all; the trigger refuses even
    # the log's owner (tests/test_audit_owner.py).
    append_events(2)
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(using="owner"):
            with connections["owner"].cursor() as cursor:
                cursor.execute(CHANGES[statement])


# --- concurrency -----------------------------------------------------------------------------


def web_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        dbname=TEST_DATABASE,
        user=db["USER"],
        password=db["PASSWORD"],
        sslmode=db["OPTIONS"].get("sslmode", "prefer"),
        sslrootcert=db["OPTIONS"].get("sslrootcert"),
        autocommit=True,
        # Through PgBouncer in transaction mode (POOLED_TESTS) as the web connection would be.
        prepare_threshold=db["OPTIONS"].get("prepare_threshold", 5),
    )


def test_concurrent_writers_do_not_fork_the_chain():
    threads_count, per_thread = 8, 40
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with web_connection() as conn:
                start.wait()
                for i in range(per_thread):
                    conn.execute(access_log.APPEND_SQL, ["sign_in", None, str(i), None, "ok", ""])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = verify_chain()
    assert report.ok
    assert report.rows_checked == threads_count * per_thread
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT prev_hash), count(*) FROM access_log")
        distinct, total = cursor.fetchone()
    assert distinct == total  # no two rows share a predecessor: no fork
