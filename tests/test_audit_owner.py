"""The access log belongs to a role no login can become (clinic/bootstrap.py).

Each attack is the raw SQL the owner login (`clinic_owner`, which runs migrations) or the web
login would send, run on the real cluster; the refusal comes from PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from django.db import DatabaseError, connections, transaction

from clinic import bootstrap, roles
from clinic.access_log.chain import verify_chain
from clinic.access_log.checkpoint import PATIENT_INDEX
from clinic.bootstrap_needed import BootstrapNeeded
from clinic.provisioning import ensure_membership
from localdb import cluster
from tests.conftest import TEST_DATABASE
from tests.db_helpers import as_role, run_as
from tests.test_access_log import append_events

# cluster_wide: the audit owner's role and memberships (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]

AUDIT = roles.AUDIT_OWNER

# What the owner login could try, to change or erase the log, or to become its owner.
OWNER_ATTACKS = {
    "disable trigger": "ALTER TABLE access_log DISABLE TRIGGER access_log_append_only",
    "disable all triggers": "ALTER TABLE access_log DISABLE TRIGGER ALL",
    "drop trigger": "DROP TRIGGER access_log_append_only ON access_log",
    "replace trigger function": "CREATE OR REPLACE FUNCTION access_log_refuse_change() "
    "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "update": "UPDATE access_log SET reason = 'x'",
    "delete": "DELETE FROM access_log",
    "truncate": "TRUNCATE access_log",
    "insert": "INSERT INTO access_log (occurred_at, role, action, object_id, outcome, reason, "
    "prev_hash, hash) VALUES (now(), '', 'forged', '', '', '', '', 'f')",
    "drop table": "DROP TABLE access_log",
    "rename table": "ALTER TABLE access_log RENAME TO old_log",
    "take ownership": "ALTER TABLE access_log OWNER TO clinic_owner",
    "own trigger": "CREATE TRIGGER t BEFORE INSERT ON access_log FOR EACH ROW "
    "EXECUTE FUNCTION access_log_refuse_change()",
    "policy": "CREATE POLICY p ON access_log FOR SELECT TO clinic_owner USING (true)",
    "disable row security": "ALTER TABLE access_log DISABLE ROW LEVEL SECURITY",
    "reset sequence": "ALTER SEQUENCE access_log_id_seq RESTART",
    "replace append function": "CREATE OR REPLACE FUNCTION append_access_event(text, uuid, "
    "text, inet, text, text) RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$",
    "replace identity": "CREATE OR REPLACE FUNCTION clinic_staff_id() RETURNS integer "
    "LANGUAGE sql AS $$ SELECT 1 $$",
    "drop schema": "DROP SCHEMA public CASCADE",
    "take schema": "ALTER SCHEMA public OWNER TO clinic_owner",
    "become audit owner": f"SET ROLE {AUDIT}",
    "join audit owner": f"GRANT {AUDIT} TO clinic_owner",
    "create role": "CREATE ROLE stray_role NOLOGIN",
    "create login": "CREATE ROLE stray_login LOGIN PASSWORD 'not-a-secret'",
    "join front desk": "GRANT clinic_front_desk TO clinic_owner",
    "join privacy officer": "GRANT clinic_privacy_officer TO clinic_owner",
    "lend a role": "GRANT clinic_admin TO clinic_web",
    "regain createrole": "ALTER ROLE clinic_owner CREATEROLE",
}


def owner_refused(statement: str) -> str:
    with pytest.raises(DatabaseError) as refused:
        with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
            cursor.execute(statement)
    return str(refused.value)


@pytest.mark.parametrize("attack", sorted(OWNER_ATTACKS))
def test_the_owner_login_cannot_change_the_log_or_become_its_owner(attack):
    append_events(3)
    message = owner_refused(OWNER_ATTACKS[attack])
    assert re.search(r"must be owner|permission denied|must have admin option", message), message
    report = verify_chain()
    assert report.ok and report.rows_checked == 3


def test_the_web_login_cannot_become_the_audit_owner(staff):
    for role in [None, *roles.GROUP_ROLES.values()]:
        with pytest.raises(DatabaseError, match="permission denied"):
            with as_role(role, staff["admin"].pk) as cursor:
                cursor.execute(f"SET ROLE {AUDIT}")


def test_no_login_is_a_member_of_the_audit_owner_and_it_cannot_log_in():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolsuper "
            "AND pg_has_role(oid, %s, 'MEMBER')",
            [AUDIT],
        )
        assert cursor.fetchall() == []
        cursor.execute(
            "SELECT rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = ANY(%s) "
            "ORDER BY rolname",
            [[AUDIT, roles.OWNER_ROLE]],
        )
        assert cursor.fetchall() == [(False, False), (True, False)]


def test_the_log_its_functions_and_the_schema_belong_to_the_audit_owner():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname IN ('access_log', 'access_log_id_seq', 'staff_token_key', "
            "'access_log_checkpoints', 'access_log_checkpoints_id_seq', 'access_log_patient_time')"
        )
        owners = cursor.fetchall()
        assert len(owners) == 6 and {owner for _name, owner in owners} == {AUDIT}
        cursor.execute(
            "SELECT proname, pg_get_userbyid(proowner), proconfig FROM pg_proc WHERE proname IN "
            "('append_access_event', 'append_access_events', 'access_log_refuse_change', "
            "'clinic_staff_id', "
            "'clinic_staff_role', 'clinic_hmac_pad', 'access_log_verify')"
        )
        functions = cursor.fetchall()
        assert len(functions) == 7
        for _name, owner, config in functions:
            # pg_catalog only: no function or operator a login created can be picked up.
            assert owner == AUDIT and config == ["search_path=pg_catalog, pg_temp"]
        cursor.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
        )
        assert cursor.fetchone() == (AUDIT,)


def test_the_audit_owners_code_names_only_the_audit_owners_objects():
    """What it runs as the audit owner must be nothing the owner login could replace."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT prosrc FROM pg_proc WHERE proowner = %s::regrole AND prosecdef", [AUDIT]
        )
        bodies = [row[0] for row in cursor.fetchall()]
        # The two appends, staff id, staff role, the chain's verifier.
        assert len(bodies) == 5
        named = {n for body in bodies for n in re.findall(r"public\.(\w+)", body)}
        assert named == {
            "access_log",
            "access_log_checkpoints",
            "staff_token_key",
            "clinic_staff_id",
            "clinic_staff_role",
        }
        for name in named:
            cursor.execute(
                "SELECT coalesce((SELECT pg_get_userbyid(relowner) FROM pg_class "
                "WHERE relname = %s AND relnamespace = 'public'::regnamespace), "
                "(SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = %s))",
                [name, name],
            )
            assert cursor.fetchone() == (AUDIT,)


def test_the_trigger_refuses_even_the_audit_owner():
    append_events(2)
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        for statement in ("UPDATE access_log SET reason = 'x'", "DELETE FROM access_log"):
            with pytest.raises(Exception, match="append-only"), conn.transaction():
                conn.execute(f"SET LOCAL ROLE {AUDIT}")
                conn.execute(statement)
    assert verify_chain().rows_checked == 2


@pytest.mark.parametrize("length", [32, 64, 80])
def test_the_sql_hmac_is_hmac_sha256(length):
    key = bytes(range(7, 7 + length))
    message = b"41.clinic_clinician.1900000000"
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT encode(sha256(clinic_hmac_pad(%s, '5c') "
            "|| sha256(clinic_hmac_pad(%s, '36') || %s)), 'hex')",
            [key, key, message],
        )
        computed = cursor.fetchone()[0]
    assert computed == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_a_second_bootstrap_changes_nothing():
    dsn = cluster.superuser_dsn(TEST_DATABASE)
    bootstrap.run(dsn)
    assert bootstrap.run(dsn) == []


def test_a_stray_membership_in_the_audit_owner_is_revoked():
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute(f"GRANT {AUDIT} TO clinic_owner")
    try:
        statements = bootstrap.run(cluster.superuser_dsn(TEST_DATABASE))
        assert f'REVOKE "{AUDIT}" FROM "clinic_owner"' in statements
        assert owner_refused(f"SET ROLE {AUDIT}").startswith("permission denied")
    finally:
        with cluster.superuser_connect(TEST_DATABASE) as conn:
            conn.execute(f"REVOKE {AUDIT} FROM clinic_owner")


def test_provisioning_asks_for_the_bootstrap_for_a_missing_membership():
    with pytest.raises(BootstrapNeeded, match="bootstrap_db"):
        ensure_membership(connections["owner"], "clinic_admin", roles.OWNER_ROLE)


def test_a_stray_right_of_the_owner_login_on_the_log_is_taken_back():
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute("GRANT INSERT, UPDATE ON access_log TO clinic_owner")
    statements = bootstrap.run(cluster.superuser_dsn(TEST_DATABASE))
    assert 'REVOKE INSERT, UPDATE ON TABLE "access_log" FROM "clinic_owner" CASCADE' in statements
    assert owner_refused("UPDATE access_log SET reason = 'x'").startswith("permission denied")
    # Only the stray rights went: the privacy officer still reads the log (found when a blanket
    # REVOKE ALL ... CASCADE took that grant too and every privacy page failed until provision_db).
    assert run_as("clinic_privacy_officer", "SELECT count(*) FROM access_log")


def _log_indexes() -> list[str]:
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = 'access_log' ORDER BY indexname"
        ).fetchall()
    return [row[0] for row in rows]


def test_the_log_carries_no_index_its_queries_do_not_use():
    """Every index is an insertion on every append (issue 20): the LIKE twins Django adds and
    the one-column patient index (the report's index leads with patient_id) are gone."""
    definitions = _log_indexes()
    assert not [d for d in definitions if "varchar_pattern_ops" in d], definitions
    assert not [d for d in definitions if d.endswith("(patient_id)")], definitions
    assert [d for d in definitions if PATIENT_INDEX in d], definitions
    assert not [d for d in definitions if d.endswith("(hash)")], definitions
    assert len(definitions) == 5, definitions  # key, action, staff, time, patient report


def test_a_redundant_index_on_the_log_is_dropped_by_the_bootstrap():
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute("CREATE INDEX access_log_patient_again ON access_log (patient_id)")
        conn.execute(
            "CREATE INDEX access_log_action_again ON access_log (action varchar_pattern_ops)"
        )
    statements = bootstrap.run(cluster.superuser_dsn(TEST_DATABASE))
    assert 'DROP INDEX public."access_log_action_again"' in statements
    assert 'DROP INDEX public."access_log_patient_again"' in statements
    assert not [d for d in _log_indexes() if "_again" in d]


def test_a_unique_constraint_on_the_hash_is_dropped_by_the_bootstrap():
    """As on a database migrated before clinic/0009: Django's `unique=True` on `hash`."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute("ALTER TABLE access_log ADD CONSTRAINT access_log_hash_key UNIQUE (hash)")
    statements = bootstrap.run(cluster.superuser_dsn(TEST_DATABASE))
    assert 'ALTER TABLE public.access_log DROP CONSTRAINT "access_log_hash_key"' in statements
    assert not [d for d in _log_indexes() if d.endswith("(hash)")]
