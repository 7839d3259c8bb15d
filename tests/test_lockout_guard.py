"""Lockouts the database keeps (accounts/lockout_guard.py): SQL injected into any request, or
into one before sign-in, cannot lift a lockout (delete live failure rows, set counts back, rename
or backdate them); a correct password still clears its account's and address's failures, a
correct code its user's wrong-code count (tests/test_mfa_signin.py), the privacy officer still
unlocks. Run on the real
cluster with the attacker's SQL, and through PgBouncer (Makefile, POOLED_TESTS)."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import lockout_guard
from accounts.lockout import username_key
from accounts.models import MfaFailures
from tests.conftest import PASSWORD
from tests.test_sign_in_tables import ATTACKERS, inject
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
ADDRESS = "192.0.2.44"
# Privacy officers and administrators unlock accounts through their pages: their own verified
# role may lower counts; back on the bare web login (RESET ROLE) they may not.
UNLOCKERS = {"privacy", "admin"}


def attempt(username: str, *, failures: int = 5, age: dt.timedelta = dt.timedelta()) -> int:
    row = AccessAttempt.objects.using("owner").create(
        username=username_key(username),
        ip_address=ADDRESS,
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/",
        failures_since_start=failures,
    )
    # attempt_time is set on creation (auto_now_add): date it afterwards, as the owner.
    AccessAttempt.objects.using("owner").filter(pk=row.pk).update(attempt_time=timezone.now() - age)
    return row.pk


def stored(pk: int) -> AccessAttempt | None:
    return AccessAttempt.objects.using("owner").filter(pk=pk).first()


@pytest.mark.parametrize("who", ATTACKERS)
@pytest.mark.parametrize("reset_role", [False, True])
def test_no_request_lifts_a_live_lockout(staff, who, reset_role):
    locked = attempt("t-clinician2")
    user = staff[who] if who else None
    unlocker = who in UNLOCKERS and not reset_role
    assert inject(user, [("DELETE FROM axes_accessattempt", [])], reset_role=reset_role) == (
        1 if unlocker else 0
    )
    for change, refusal in (
        ("failures_since_start = 0", "only rises"),
        ("attempt_time = now() - interval '1 day'", "dated now"),
        ("username = 'u:' || repeat('0', 32)", "stays with its account"),
        ("ip_address = '198.51.100.1'", "stays with its account"),
    ):
        statement = f"UPDATE axes_accessattempt SET {change}"  # noqa: S608
        if unlocker:
            assert inject(user, [(statement, [])]) == 1
        else:
            with pytest.raises(DatabaseError, match=refusal):
                inject(user, [(statement, [])], reset_role=reset_role)
    row = stored(locked)
    assert row is not None and row.failures_since_start == 5


@pytest.mark.parametrize("reset_role", [False, True])
def test_an_expired_count_may_be_cleared_and_a_live_one_raised(staff, reset_role):
    expired = attempt("t-clinician", age=dt.timedelta(hours=2))
    live = attempt("t-clinician2", failures=2)
    user = staff["analyst"]
    deleted = inject(
        user, [("DELETE FROM axes_accessattempt RETURNING id", [])], reset_role=reset_role
    )
    assert deleted == [(expired,)] and live != expired
    raise_it = "UPDATE axes_accessattempt SET failures_since_start = failures_since_start + 1"
    assert inject(user, [(raise_it, [])], reset_role=reset_role) == 2  # both rows


def test_a_forged_or_foreign_clearance_clears_nothing(staff):
    mine, theirs = attempt("t-clinician"), attempt("t-clinician2")
    forged = f"signin {username_key('t-clinician2')},{ADDRESS} 9999999999 {'0' * 64}"
    clear_with = "SELECT set_config('app.lockout_clearance', %s, true)"
    assert inject(None, [(clear_with, [forged]), ("DELETE FROM axes_accessattempt", [])]) == 0
    # A real clearance names one account (and one address): only its rows go.
    real = lockout_guard.mint("signin", f"{username_key('t-clinician')},198.51.100.9")
    assert inject(None, [(clear_with, [real]), ("DELETE FROM axes_accessattempt", [])]) == 1
    # A code clearance does not clear sign-in failures.
    code = lockout_guard.mint("code", str(staff["clinician2"].pk))
    assert inject(None, [(clear_with, [code]), ("DELETE FROM axes_accessattempt", [])]) == 0
    assert stored(mine) is not None and stored(theirs) is not None  # all rolled back


def test_a_locked_account_stays_locked_whatever_the_injected_sql(client, staff):
    for _ in range(5):
        sign_in(client, "t-clinician", "wrong-password")
    assert sign_in(client, "t-clinician", PASSWORD).status_code == 429
    for statement in (
        "DELETE FROM axes_accessattempt",
        "DELETE FROM axes_accessattempt WHERE attempt_time < now()",
    ):
        inject(None, [(statement, [])])
    with pytest.raises(DatabaseError):
        inject(None, [("UPDATE axes_accessattempt SET failures_since_start = 0", [])])
    assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 429


def test_a_correct_password_still_clears_its_failures(client, staff):
    for _ in range(4):
        sign_in(client, "t-clinician", "wrong-password")
    assert AccessAttempt.objects.using("owner").exists()
    assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.using("owner").exists()
    for _ in range(4):
        sign_in(client, "t-clinician", "wrong-password")
    assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 302


def test_the_privacy_officer_still_unlocks(client_for, staff):
    for _ in range(5):
        sign_in(Client(), "t-clinician", "wrong-password")
    officer = client_for(staff["privacy"])
    response = officer.post(
        reverse("privacy:unlock"), {"username": username_key("t-clinician"), "ip_address": ""}
    )
    assert response.status_code == 302
    assert sign_in(Client(), "t-clinician", PASSWORD).status_code == 302


@pytest.mark.parametrize("reset_role", [False, True])
def test_no_request_resets_its_own_wrong_code_count(staff, reset_role):
    """A thief with the password and an injection in the partial (code-step) session cannot buy
    more code guesses by clearing their own count."""
    user = staff["clinician"]
    MfaFailures.objects.using("owner").create(user=user, count=4)
    if reset_role:
        # The bare web login holds no right on the counter at all.
        with pytest.raises(DatabaseError, match="permission denied"):
            inject(user, [("DELETE FROM clinic_mfafailures", [])], reset_role=True)
    else:
        assert inject(user, [("DELETE FROM clinic_mfafailures", [])]) == 0
        with pytest.raises(DatabaseError, match="only rises"):
            inject(user, [("UPDATE clinic_mfafailures SET count = 0", [])])
        with pytest.raises(DatabaseError, match="dated now"):
            inject(
                user,
                [("UPDATE clinic_mfafailures SET last_failure_at = now() - interval '1 day'", [])],
            )
    assert MfaFailures.objects.using("owner").get(user=user).count == 4
    # A correct code's clearance (the application's, after verifying) clears it.
    clearance = lockout_guard.mint("code", str(user.pk))
    assert (
        inject(
            user,
            [
                ("SELECT set_config('app.lockout_clearance', %s, true)", [clearance]),
                ("DELETE FROM clinic_mfafailures", []),
            ],
        )
        == 1
    )


@pytest.mark.parametrize("who", ["clinician", None])
@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM axes_accesslog",
        "UPDATE axes_accesslog SET username = 'u:' || repeat('0', 32)",
        "UPDATE axes_accesslog SET attempt_time = now() - interval '1 year'",
        "SELECT count(*) FROM axes_accessfailurelog",
        "INSERT INTO axes_accessattemptexpiration VALUES (1, now())",
    ],
)
def test_sign_in_history_is_not_rewritten_from_the_web_login(staff, who, statement):
    """The sign-in path writes a history row at sign-in and its logout time at sign-out, and
    nothing else of axes' tables (its failure log is off)."""
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(staff[who] if who else None, [(statement, [])], reset_role=True)


def test_sign_in_and_sign_out_still_keep_their_history(client, staff):
    from axes.models import AccessLog

    assert sign_in(client, "t-clinician", PASSWORD).status_code == 302
    client.post(reverse("accounts:sign-out"))
    (row,) = AccessLog.objects.using("owner").all()
    assert row.logout_time is not None


HISTORY_ROW = (
    "INSERT INTO axes_accesslog (username, ip_address, user_agent, http_accept, path_info, "
    "attempt_time, session_hash) VALUES (%s, '203.0.113.9', 'x', 'x', '/', now(), '')"
)


@pytest.mark.parametrize("who", ["clinician", "frontdesk", None])
@pytest.mark.parametrize("reset_role", [False, True])
def test_no_request_adds_history_in_another_accounts_name(staff, who, reset_role):
    """Injected SQL cannot add sign-in history for someone else (a false alibi or a false
    trail): before sign-in for no account at all, signed in only for its own."""
    from axes.models import AccessLog

    with pytest.raises(DatabaseError, match="row-level security"):
        inject(staff[who] if who else None, [(HISTORY_ROW, ["t-admin"])], reset_role=reset_role)
    assert not AccessLog.objects.using("owner").filter(username="t-admin").exists()


def test_a_request_reads_and_closes_only_its_own_accounts_history(client, staff):
    from axes.models import AccessLog

    assert sign_in(Client(), "t-admin", PASSWORD).status_code == 302
    assert AccessLog.objects.using("owner").filter(username="t-admin").count() == 1
    rows = inject(
        staff["clinician"],
        [("SELECT username FROM axes_accesslog", [])],
        reset_role=True,
    )
    assert rows == []
    closed = inject(
        staff["clinician"],
        [("UPDATE axes_accesslog SET logout_time = now()", [])],
    )
    assert closed == 0
    assert AccessLog.objects.using("owner").get(username="t-admin").logout_time is None
