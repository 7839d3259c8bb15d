"""Sessions and the other sign-in tables against SQL injected into a request (threat model in
docs/database-roles.md): the attacker's statements run on the web login's real connection,
before sign-in or after a signed-in request's own context statement, directly and (make test)
through PgBouncer.

- No login of the application reads, writes or deletes `django_session` rows: sessions are
  reached only through functions that take the session's key (accounts/session_store.py).
- The database holds no session key, only digests: a digest read anywhere signs nobody in.
- "My sessions" rows, the wrong-code counter and MFA devices (TOTP secrets, recovery codes) are
  each user's own.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import DatabaseError
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
