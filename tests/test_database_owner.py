"""The clinic database belongs to a role no login is or may become (clinic/bootstrap.py
ensure_database), and no schema can shadow the application's functions.

Each attack is the raw SQL the owner login (`clinic_owner`, which runs migrations) or the web
login would send, run on the real cluster; the refusal comes from PostgreSQL.
"""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from psycopg import sql

from clinic import access_log, bootstrap, roles
from clinic.access_log.chain import verify_chain
from localdb import cluster
from tests.conftest import TEST_DATABASE
from tests.factories import PatientFactory
from tests.test_audit_owner import owner_refused
from tests.test_signin import sign_in

# cluster_wide: makes and drops a database; the login roles' rights (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]

# A second clinic database on the same cluster, made as every clinic database is made.
SCRATCH = f"{TEST_DATABASE}_scratch"
# The signature of the application's append function, for a look-alike in another schema.
LOOK_ALIKE = (
    "CREATE FUNCTION {schema}.append_access_event(text, uuid, text, inet, text, text) "
    "RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$"
)


def owner_dsn(dbname: str) -> dict[str, str]:
    db = settings.DATABASES["owner"]
    return {
        "host": db["HOST"],
        "port": str(db["PORT"]),
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": dbname,
        "sslmode": "verify-full",
        "sslrootcert": db["OPTIONS"]["sslrootcert"],
    }


@pytest.fixture
def scratch_database():
    cluster.drop_database(SCRATCH)
    with cluster.superuser_connect() as conn:
        cluster.create_database(conn, SCRATCH)
    yield SCRATCH
    cluster.drop_database(SCRATCH)


def test_the_clinic_database_belongs_to_the_audit_owner():
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
    assert owner == roles.AUDIT_OWNER


def test_the_owner_login_cannot_drop_a_clinic_database(scratch_database):
    """DROP DATABASE runs outside a transaction: an autocommit connection of the owner login
    to the clinic database drops the other one (its own open database is refused anyway)."""
    with psycopg.connect(**owner_dsn(TEST_DATABASE), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(scratch_database)))
    with cluster.superuser_connect() as conn:
        still = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [scratch_database]
        ).fetchone()
    assert still is not None


@pytest.mark.parametrize(
    "attack",
    [
        "CREATE SCHEMA clinic_web",
        "CREATE SCHEMA clinic_owner",
        "CREATE SCHEMA stray AUTHORIZATION clinic_owner",
        "ALTER DATABASE {db} OWNER TO clinic_owner",
        "ALTER DATABASE {db} SET search_path = clinic_web, public",
        "ALTER DATABASE {db} CONNECTION LIMIT 0",
        "ALTER DATABASE {db} RENAME TO stray",
        "CREATE EXTENSION IF NOT EXISTS hstore",
    ],
)
def test_the_owner_login_cannot_make_a_schema_or_take_the_database(attack):
    message = owner_refused(attack.format(db=f'"{TEST_DATABASE}"'))
    assert "permission denied" in message or "must be owner" in message, message


def test_the_web_login_cannot_make_a_schema():
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(), connections["default"].cursor() as cursor:
            cursor.execute("CREATE SCHEMA clinic_web")


def test_the_owner_login_keeps_what_migrations_and_provisioning_need():
    """CONNECT, TEMP (analytics' bulk generation), CREATE and USAGE on `public`; no more, even
    after it grants itself CREATE (PostgreSQL grants nothing and warns)."""
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        cursor.execute(f'GRANT CREATE ON DATABASE "{TEST_DATABASE}" TO clinic_owner, clinic_web')
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        rights = conn.execute(
            "SELECT has_database_privilege('clinic_owner', current_database(), 'CONNECT'), "
            "has_database_privilege('clinic_owner', current_database(), 'TEMPORARY'), "
            "has_database_privilege('clinic_owner', current_database(), 'CREATE'), "
            "has_schema_privilege('clinic_owner', 'public', 'CREATE'), "
            "has_database_privilege('clinic_web', current_database(), 'TEMPORARY'), "
            "has_database_privilege('clinic_web', current_database(), 'CREATE'), "
            "has_database_privilege('clinic_analytics_owner', current_database(), 'TEMPORARY')"
        ).fetchone()
    assert rights == (True, True, False, True, False, False, True)


def test_the_bootstrap_takes_an_existing_clinic_database_back():
    """A clinic made before this change (owned by the owner login, which holds CREATE): the
    bootstrap hands it to the audit owner and the owner login keeps CONNECT and TEMP."""
    dsn = cluster.superuser_dsn(TEST_DATABASE)
    database = sql.Identifier(TEST_DATABASE)
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO clinic_owner").format(database))
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO clinic_web").format(database))
        conn.execute("ALTER ROLE clinic_web RESET search_path")
    statements = bootstrap.run(dsn)
    assert f'ALTER DATABASE "{TEST_DATABASE}" OWNER TO "{roles.AUDIT_OWNER}"' in statements
    assert bootstrap.run(dsn) == []
    test_the_clinic_database_belongs_to_the_audit_owner()
    test_the_owner_login_keeps_what_migrations_and_provisioning_need()
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        (config,) = conn.execute(
            "SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 "
            "AND setrole = 'clinic_web'::regrole"
        ).fetchone()
    assert f"search_path={bootstrap.WEB_SEARCH_PATH}" in config


# "$user" on the default path is the current role: the bare web login before sign-in, the
# group role after the request's switch.
LOOK_ALIKE_SCHEMAS = [roles.WEB_ROLE, *roles.GROUP_ROLES.values()]


@pytest.fixture
def look_alike_schema():
    """As the superuser (no login may): a schema named like the web login and one named like
    each group role, first on the default search path ("$user", public), each holding an
    append function that writes nothing, usable by everyone."""
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        for name in LOOK_ALIKE_SCHEMAS:
            schema = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            conn.execute(sql.SQL(LOOK_ALIKE).format(schema=schema))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO PUBLIC").format(schema))
            conn.execute(
                sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {} TO PUBLIC").format(schema)
            )
    connections["default"].close()
    yield
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        for name in LOOK_ALIKE_SCHEMAS:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    connections["default"].close()


def log_rows(action: str, patient_id) -> int:
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        return conn.execute(
            "SELECT count(*) FROM public.access_log WHERE action = %s AND patient_id = %s",
            [action, patient_id],
        ).fetchone()[0]


def test_a_look_alike_append_function_does_not_stop_a_page_views_event(
    look_alike_schema, client_for, staff
):
    patient = PatientFactory()
    response = client_for(staff["privacy"]).get(
        f"/privacy/patients/{patient.pk}/disclosures/accounting/"
    )
    assert response.status_code == 200
    assert log_rows(access_log.DISCLOSURE_ACCOUNTING, patient.pk) == 1
    assert verify_chain().ok


def test_a_look_alike_append_function_does_not_stop_a_sign_in_event(
    look_alike_schema, client, staff
):
    """Before sign-in the request runs as the bare web login: the schema named like it."""
    response = sign_in(client, "t-clinician", "wrong-password-1")
    assert response.status_code == 200
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        count = conn.execute(
            "SELECT count(*) FROM public.access_log WHERE action = %s",
            [access_log.SIGN_IN_FAILED],
        ).fetchone()[0]
    assert count == 1


def test_the_web_connection_search_path_is_pinned(look_alike_schema):
    """Whatever default the web login sets for itself, a new connection's path is the pinned
    one: no "$user" schema on it."""
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER ROLE clinic_web SET search_path = clinic_web, public")
    connections["default"].close()
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT current_schemas(false)")
            assert cursor.fetchone()[0] == ["pg_catalog", "public"]
    finally:
        with cluster.superuser_connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE clinic_web SET search_path = {}").format(
                    sql.SQL(bootstrap.WEB_SEARCH_PATH)
                )
            )
        connections["default"].close()


def test_the_append_call_names_its_schema(look_alike_schema):
    """Even on a path that puts the look-alike first, the application's call reaches
    public.append_access_event."""
    patient = PatientFactory()
    with transaction.atomic(using="owner"):
        with connections["owner"].cursor() as cursor:
            cursor.execute("SET LOCAL search_path = clinic_web, public")
        access_log.record(
            None, access_log.DISCLOSURE_ACCOUNTING, patient_id=patient.pk, using="owner"
        )
    assert log_rows(access_log.DISCLOSURE_ACCOUNTING, patient.pk) == 1
