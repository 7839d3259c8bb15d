"""Test fixtures: a real test database on the embedded cluster, real roles, standing personas.

The web connection ('default') logs in as clinic_web exactly as in production, so every request
made by the test client goes through the real role switch and the real grants. Fixture data is
written through the owner connection and committed (a second connection cannot see an open
transaction), and each test ends by truncating the tables as the cluster's superuser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test.utils import override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import mfa_required
from clinic import roles
from clinic.management.commands.seed_demo import ensure_groups
from localdb import cluster
from patients.models import PatientIdentity
from tests.cluster_share import (  # noqa: F401 (autouse fixtures)
    _cluster_alone_for_the_module,
    _cluster_shared_for_the_test,
    worker,
)
from tests.factories import PASSWORD, PatientFactory, StaffFactory, TOTPDeviceFactory
from tests.suite_guard import pytest_addoption, pytest_sessionfinish  # noqa: F401 (hooks)

# One per concurrent run, and one per process of a parallel run (pytest-xdist's worker id:
# tests/cluster_share.py).
TEST_DATABASE = os.environ.get("CLINIC_TEST_DB", "test_clinic") + (
    f"_{worker()}" if worker() else ""
)
# Two processes of a parallel run set up their databases one after the other: provision_db also
# makes the cluster's roles, which two sessions cannot create at once.
SET_UP_LOCK = "SELECT pg_advisory_lock(hashtext('clinic.test_database_set_up'))"
KEEP_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    # Written by provisioning, like the roles and policies.
    "staff_token_key",
    "analytics_pseudonym_key",
    "icd10_cm_codes",
}


# --- password hashing ---------------------------------------------------------------------------
REAL_HASHERS = list(settings.PASSWORD_HASHERS)
QUICK_HASHERS = [
    "tests.hashers.QuickArgon2PasswordHasher"
    if path
    in (
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "accounts.hashers.ClinicArgon2PasswordHasher",
    )
    else path
    for path in REAL_HASHERS
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_password_hasher: Django's Argon2 parameters as configured (tests/hashers.py)",
    )


@pytest.fixture(scope="session", autouse=True)
def quick_password_hasher() -> Iterator[None]:
    """Argon2 with the smallest parameters for the whole run (tests/hashers.py says why)."""
    with override_settings(PASSWORD_HASHERS=QUICK_HASHERS):
        yield


@pytest.fixture(autouse=True)
def real_password_hasher(request: pytest.FixtureRequest) -> Iterator[None]:
    """The configured hashers back for tests marked `real_password_hasher`."""
    if request.node.get_closest_marker("real_password_hasher") is None:
        yield
        return
    with override_settings(PASSWORD_HASHERS=REAL_HASHERS):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker) -> Iterator[None]:
    from django.core.management import call_command

    for alias in ("default", "owner"):
        settings.DATABASES[alias]["NAME"] = TEST_DATABASE
        connections[alias].settings_dict["NAME"] = TEST_DATABASE
        connections[alias].close()
    with cluster.superuser_connect() as conn:
        conn.execute(SET_UP_LOCK)  # released when this connection closes
        cluster.drop_database(TEST_DATABASE)
        cluster.create_database(conn, TEST_DATABASE)
        with django_db_blocker.unblock():
            call_command("migrate", database="owner", verbosity=0)
            call_command("provision_db", verbosity=0)
            ensure_groups()
            for alias in ("default", "owner"):
                connections[alias].close()
    yield
    close_cleaner()
    with django_db_blocker.unblock():
        for alias in ("default", "owner"):
            connections[alias].close()


# Every table but KEEP_TABLES emptied, in one statement run by the server: as superuser in
# replica mode, neither foreign keys nor the append-only trigger fire, so order does not matter;
# DELETE is far faster than TRUNCATE for a few rows, and only tables with rows are touched. Ids
# start at 1 again in every test, as TRUNCATE ... RESTART IDENTITY would: each sequence of those
# tables that has handed out a value is restarted. pgaudit is off for this clean-up only (it is
# the harness's, not the clinic's, and would log some 60 statements after every test).
CLEAN_UP = """
SET LOCAL session_replication_role = replica;
SET LOCAL synchronous_commit = off;
SET LOCAL pgaudit.log = 'none';
DO $clean$
DECLARE
    keep text[] := {keep};
    name text;
    has_rows boolean;
BEGIN
    FOR name IN
        SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL (keep)
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM public.%I)', name) INTO has_rows;
        IF has_rows THEN
            EXECUTE format('DELETE FROM public.%I', name);
        END IF;
    END LOOP;
    FOR name IN
        SELECT s.relname FROM pg_class s
        JOIN pg_depend d ON d.objid = s.oid
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_tables p ON p.tablename = t.relname AND p.schemaname = 'public'
        JOIN pg_sequences q ON q.sequencename = s.relname AND q.schemaname = 'public'
        WHERE s.relkind = 'S' AND t.relname <> ALL (keep) AND q.last_value IS NOT NULL
    LOOP
        EXECUTE format('ALTER SEQUENCE public.%I RESTART', name);
    END LOOP;
END
$clean$;
"""
_cleaner: list = []  # the superuser connection truncate_all keeps for the run


def _clean_up_once() -> None:
    from psycopg import sql

    if not _cleaner or _cleaner[0].closed:
        _cleaner[:] = [cluster.superuser_connect(TEST_DATABASE)]
    conn = _cleaner[0]
    statement = sql.SQL(CLEAN_UP).format(keep=sql.Literal(sorted(KEEP_TABLES)))
    with conn.transaction():
        conn.execute(statement.as_string(conn))


def truncate_all() -> None:
    import psycopg

    try:
        _clean_up_once()
    except psycopg.OperationalError:
        # The server closed the kept connection (a test restarted it): once more, afresh.
        close_cleaner()
        _clean_up_once()


def close_cleaner() -> None:
    while _cleaner:
        conn = _cleaner.pop()
        if not conn.closed:
            conn.close()


@pytest.fixture
def clinic_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access with committed data, cleaned after the test."""
    django_db_blocker.unblock()
    try:
        yield
    finally:
        for alias in ("default", "owner"):
            connections[alias].close()
        truncate_all()
        django_db_blocker.restore()


def make_staff(
    username: str, group: str | None, *, password: str = PASSWORD, is_active: bool = True
) -> User:
    return StaffFactory(
        username=username, group=group, plain_password=password, is_active=is_active
    )


@pytest.fixture
def staff(clinic_db) -> dict[str, User]:
    """The standing personas of STYLE.md."""
    return {
        "frontdesk": make_staff("t-frontdesk", roles.FRONT_DESK),
        "clinician": make_staff("t-clinician", roles.CLINICIAN),
        "clinician2": make_staff("t-clinician2", roles.CLINICIAN),
        "analyst": make_staff("t-analyst", roles.ANALYST),
        "privacy": make_staff("t-privacy", roles.PRIVACY_OFFICER),
        "admin": make_staff("t-admin", roles.ADMINISTRATOR),
        "outsider": make_staff("t-outsider", None),
    }


@pytest.fixture
def patient(clinic_db) -> PatientIdentity:
    """One patient with the factory's defaults (modules that need more define their own)."""
    return PatientFactory()


def give_totp(user: User) -> TOTPDevice:
    """A confirmed TOTP device for `user` (the one they have, if any)."""
    device = TOTPDevice.objects.using("owner").filter(user=user, confirmed=True).first()
    return device or TOTPDeviceFactory(user=user)


def current_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code an authenticator app would show now (django-otp's own TOTP, no pyotp)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    if offset_steps:
        value = totp(
            device.bin_key,
            step=device.step,
            t0=device.t0 - offset_steps * device.step,
            digits=device.digits,
        )
    return f"{value:0{device.digits}d}"


def sign_in_client(client, user: User, *, verified: bool = True):
    """Sign `client` in as `user`, past the code step for roles that need MFA (unless not
    `verified`: then it stops after the password)."""
    client.force_login(user)
    if verified and mfa_required(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = give_totp(user).persistent_id
        session.save()
    return client


@pytest.fixture
def client_for(client):
    """client_for(user): the test client fully signed in as that user."""

    def sign_in(user: User, *, verified: bool = True):
        return sign_in_client(client, user, verified=verified)

    return sign_in


# --- browser ----------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


def server_log_size() -> int:
    return cluster.log_file().stat().st_size


def server_log_since(offset: int) -> str:
    with open(cluster.log_file(), encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


@pytest.fixture(scope="session")
def live_url(django_db_setup) -> Iterator[str]:
    """A live server on loopback (Django's LiveServerThread) serving the test database.

    pytest-django's own live_server forces its transactional fixture, which flushes through the
    web connection; the web role may not truncate tables, so we run the thread ourselves.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
