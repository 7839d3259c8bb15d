"""Sessions and the other sign-in tables against SQL injected into a request (threat model in
docs/database-roles.md): the attacker's statements run on the web login's real connection,
before sign-in or after a signed-in request's own context statement, directly and (make test)
through PgBouncer.

- No login of the application reads, writes or deletes `django_session` rows: sessions are
  reached only through functions that take the session's key (accounts/session_store.py).
- The database holds no session key, only digests: a digest read anywhere signs nobody in.
- Before sign-in no account (`auth_user`) is readable but the one the sign-in attempt names,
  under a look-up the application signs; a signed-in group role reads colleagues' rows.
- "My sessions" rows, the wrong-code counter and MFA devices (TOTP secrets, recovery codes) are
  each user's own.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connections, transaction
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import MfaFailures, StaffSession
from accounts.session_store import digest
from clinic import roles
from tests.conftest import PASSWORD, give_totp
from tests.db_helpers import request_cursor
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
ROLE = roles.GROUP_ROLES
ATTACKERS = ["analyst", "clinician", "frontdesk", "privacy", "admin", None]


def signed_in(username: str) -> str:
    """A browser signed in through the real sign-in page (password step); its session key."""
    client = Client()
    assert sign_in(client, username, PASSWORD).status_code == 302
    return client.cookies["sessionid"].value


def inject(user, statements: list[tuple[str, list]], *, reset_role: bool = False):
    """Run `statements` in `user`'s request (None: before sign-in), optionally after `RESET
    ROLE` back to the bare web login; the last statement's rows or row count (rolled back)."""
    with request_cursor(user, reset_role=reset_role) as cursor:
        result = None
        for statement, params in statements:
            cursor.execute(statement, params)
            result = cursor.fetchall() if cursor.description else cursor.rowcount
    return result


@pytest.mark.parametrize("who", ATTACKERS)
@pytest.mark.parametrize("reset_role", [False, True])
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT session_key, session_data FROM django_session",
        "UPDATE django_session SET expire_date = now() + interval '1 year'",
        "DELETE FROM django_session",
        "INSERT INTO django_session VALUES ('x', 'y', now() + interval '1 day')",
    ],
)
def test_no_request_reaches_the_session_table(staff, who, reset_role, statement):
    signed_in("t-privacy")
    with pytest.raises(DatabaseError, match="permission denied for table django_session"):
        inject(staff[who] if who else None, [(statement, [])], reset_role=reset_role)
    assert Session.objects.using("owner").count() == 1


def test_the_database_holds_digests_not_keys(staff):
    key = signed_in("t-clinician")
    stored = set(Session.objects.using("owner").values_list("session_key", flat=True))
    listed = set(StaffSession.objects.using("owner").values_list("session_key", flat=True))
    assert stored == listed == {digest(key)}
    assert key not in stored | listed


@pytest.mark.parametrize("who", ATTACKERS)
def test_a_digest_opens_no_session_only_the_key_does(staff, who):
    """The functions hash what they are given: a digest (from a backup, a log, "My sessions")
    is no key. The key itself is what the attacker's own browser already holds."""
    key = signed_in("t-privacy")
    user = staff[who] if who else None
    load = "SELECT clinic_session_load(%s)"
    assert inject(user, [(load, [digest(key)])]) == [(None,)]
    assert inject(user, [(load, [key])])[0][0]  # the holder of the key: its own session


@pytest.mark.parametrize("who", ["analyst", "clinician", "frontdesk", "privacy", None])
def test_only_the_owner_of_a_session_or_an_administrator_ends_it(staff, who):
    key = signed_in("t-analyst")
    if who != "analyst":
        end = ("SELECT clinic_sessions_end(%s)", [[digest(key)]])
        assert inject(staff[who] if who else None, [end]) == [(0,)]
    assert inject(staff["analyst"], [("SELECT clinic_sessions_end(%s)", [[digest(key)]])]) == [(1,)]
    assert inject(staff["admin"], [("SELECT clinic_sessions_end(%s)", [[digest(key)]])]) == [(1,)]
    assert Session.objects.using("owner").filter(session_key=digest(key)).exists()  # rolled back


@pytest.mark.parametrize("reset_role", [False, True])
def test_my_sessions_rows_are_each_users_own(staff, reset_role):
    signed_in("t-analyst")
    signed_in("t-privacy")
    count = ("SELECT count(*) FROM clinic_staffsession", [])
    assert inject(None, [count]) == [(0,)]
    # Back on the bare web login the request still names its own user: still only its row.
    assert inject(staff["analyst"], [count], reset_role=reset_role) == [(1,)]
    moved = inject(
        staff["clinician"], [("UPDATE clinic_staffsession SET last_seen_at = now()", [])]
    )
    assert moved == 0
    with pytest.raises(DatabaseError, match="row-level security"):
        inject(
            staff["clinician"],
            [
                (
                    "INSERT INTO clinic_staffsession (session_key, user_id, created_at,"
                    " last_seen_at, user_agent) VALUES (%s, %s, now(), now(), 'x')",
                    ["f" * 40, staff["analyst"].pk],
                )
            ],
        )
    assert StaffSession.objects.using("owner").count() == 2


@pytest.mark.parametrize("reset_role", [False, True])
def test_no_request_clears_another_users_wrong_code_count(staff, reset_role):
    MfaFailures.objects.using("owner").create(user=staff["analyst"], count=4)
    try:
        changed = inject(
            staff["clinician"], [("DELETE FROM clinic_mfafailures", [])], reset_role=reset_role
        )
    except DatabaseError as refused:
        assert reset_role and "permission denied" in str(refused)
    else:
        assert not reset_role and changed == 0
    assert MfaFailures.objects.using("owner").get(user=staff["analyst"]).count == 4


@pytest.mark.parametrize("who", ATTACKERS)
@pytest.mark.parametrize("reset_role", [False, True])
def test_no_request_reads_another_users_mfa_secrets(staff, who, reset_role):
    """django-otp loads the session's device inside the request's transaction, under the
    verified staff id: the web login reads its own user's devices and nobody else's."""
    for user in staff.values():
        give_totp(user)
        StaticToken.objects.using("owner").create(
            device=StaticDevice.objects.using("owner").create(user=user, name="backup"),
            token="recovery1",
        )
    user = staff[who] if who else None
    # An administrator's own request manages everyone's devices (the admin pages); back on the
    # bare web login, even an administrator's request reads only their own.
    manages_all = who == "admin" and not reset_role
    for table in ("otp_totp_totpdevice", "otp_static_staticdevice"):
        seen = inject(
            user, [(f"SELECT user_id FROM {table} ORDER BY user_id", [])], reset_role=reset_role
        )  # noqa: S608
        if manages_all:
            assert seen == sorted((other.pk,) for other in staff.values())
        else:
            assert seen == ([(user.pk,)] if user else [])
    tokens = ("SELECT count(*) FROM otp_static_statictoken", [])
    if reset_role or user is None:
        with pytest.raises(DatabaseError, match="permission denied"):
            inject(user, [tokens], reset_role=reset_role)
    else:
        assert inject(user, [tokens]) == [(len(staff) if manages_all else 1,)]


# --- accounts: the web login reads no account before sign-in but the one being signed in -------


def _lookup(username: str, *, now: float | None = None) -> str:
    from accounts.user_lookup import mint

    return mint(username, now=now)


@contextmanager
def transaction_rolled_back():
    with transaction.atomic(using="default"):
        yield
        transaction.set_rollback(True, using="default")


def _accounts(cursor) -> set[str]:
    cursor.execute("SELECT username FROM auth_user")
    return {username for (username,) in cursor.fetchall()}


def test_before_sign_in_no_account_is_readable(staff):
    with request_cursor(None) as cursor:
        assert _accounts(cursor) == set()
        cursor.execute("SELECT count(*) FROM auth_user WHERE is_superuser OR is_staff")
        assert cursor.fetchone() == (0,)


def test_the_sign_in_look_up_reads_exactly_the_account_it_names(staff):
    with request_cursor(None) as cursor:
        cursor.execute("SELECT set_config('app.sign_in_lookup', %s, true)", [_lookup("t-admin")])
        assert _accounts(cursor) == {"t-admin"}


@pytest.mark.parametrize("forgery", ["renamed", "own_mac", "expired", "staff_token_mac"])
def test_injected_sql_cannot_mint_a_look_up(staff, forgery):
    """SQL on the sign-in page holds at most the look-up of the username typed into that very
    request; it cannot turn it into another account's, sign one itself, or use an old one."""
    import hashlib
    import hmac
    import time

    genuine = _lookup("t-clinician").split(" ")
    other = b"t-admin".hex()
    if forgery == "renamed":
        value = " ".join(["lookup", other, genuine[2], genuine[3]])
    elif forgery == "own_mac":
        # Signed with a key the attacker could guess or read (the web login reads none).
        mac = hmac.new(b"guessed", f"lookup {other} {genuine[2]}".encode(), hashlib.sha256)
        value = f"lookup {other} {genuine[2]} {mac.hexdigest()}"
    elif forgery == "expired":
        value = _lookup("t-admin", now=time.time() - 3600)
    else:
        # A staff token's MAC (same key, other domain) does not sign a look-up.
        from clinic.staff_identity import mint as mint_token

        token = mint_token(staff["admin"].pk, "clinic_web").split(".")
        value = f"lookup {other} {token[2]} {token[3]}"
    with request_cursor(None) as cursor:
        cursor.execute("SELECT set_config('app.sign_in_lookup', %s, true)", [value])
        assert _accounts(cursor) == set()


@pytest.mark.parametrize("reset_role", [False, True])
def test_the_sessions_own_user_reads_only_their_row_until_switched(staff, reset_role):
    """The token the app names the session's user with, before the request's role switch (as
    the bare web login), opens that user's row and no other; a group role's token opens
    colleagues' rows, even after `RESET ROLE` (the names on every page)."""
    from clinic.db_context import apply_context

    clinician = staff["clinician"]
    with transaction_rolled_back():
        apply_context(None, clinician.pk)
        with connections["default"].cursor() as cursor:
            assert _accounts(cursor) == {"t-clinician"}
            cursor.execute(
                "UPDATE auth_user SET last_login = now() WHERE username <> 't-clinician'"
            )
            assert cursor.rowcount == 0
            cursor.execute("UPDATE auth_user SET last_login = now() WHERE username = 't-clinician'")
            assert cursor.rowcount == 1
    with request_cursor(clinician, reset_role=reset_role) as cursor:
        assert _accounts(cursor) >= {"t-clinician", "t-admin", "t-analyst"}


def test_signing_in_still_stamps_the_last_sign_in_time(staff):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.using("owner")
    users.filter(username="t-frontdesk").update(last_login=None)
    signed_in("t-frontdesk")
    assert users.get(username="t-frontdesk").last_login is not None
