"""Brute force against a real gunicorn server on loopback, from ten client addresses.

The server counts what it evaluates (benchmarks/brute_force.py): whatever the number of guesses
and addresses, at most AXES_FAILURE_LIMIT (resp. MFA_FAILURE_LIMIT) plus the requests the server
runs at once are checked. The 1,000-guess run is scripts/brute_force.py (docs/security-testing.md).
"""

from __future__ import annotations

import pytest
from django.conf import settings

from benchmarks.brute_force import (
    SERVER_CONCURRENCY,
    mfa_attack,
    password_attack,
    spray_with_forwarded_for,
    start_server,
)
from clinic import roles
from tests.conftest import PASSWORD, TEST_DATABASE, give_totp, make_staff

# Django's own Argon2 parameters (tests/hashers.py): the server processes run the real settings.
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.real_password_hasher]


@pytest.fixture(scope="module")
def count_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("brute-force")  # also keeps the servers' logs


@pytest.fixture(scope="module")
def server(django_db_setup, count_dir):
    server = start_server(TEST_DATABASE, f"{count_dir}/direct")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied_server(django_db_setup, count_dir):
    server = start_server(TEST_DATABASE, f"{count_dir}/proxied", trusted_proxies=1)
    yield server
    server.stop()


def test_a_hundred_password_guesses_get_at_most_the_limit_evaluated(server, staff):
    result = password_attack(server, "t-clinician", guesses=100, addresses=10, burst=20)
    assert result.evaluated <= settings.AXES_FAILURE_LIMIT + SERVER_CONCURRENCY
    assert result.evaluated >= settings.AXES_FAILURE_LIMIT
    assert set(result.statuses) <= {200, 429}
    assert result.statuses[429] >= 100 - settings.AXES_FAILURE_LIMIT - SERVER_CONCURRENCY


def test_a_hundred_code_guesses_get_at_most_the_limit_evaluated(server, staff):
    user = make_staff("t-bf-privacy", roles.PRIVACY_OFFICER)
    give_totp(user)
    result = mfa_attack(server, user.username, PASSWORD, guesses=100, addresses=10, burst=20)
    # Code checks of one user run one at a time (accounts.mfa.hold_code_checks): exactly the limit.
    assert result.evaluated == settings.MFA_FAILURE_LIMIT, result
    # 302: the partial sign-in was ended by a concurrent guess (back to the sign-in page); 400:
    # Django's "session deleted before the request completed" for the same race.
    assert set(result.statuses) <= {200, 302, 400, 429}, result
    assert result.statuses[200] <= settings.MFA_FAILURE_LIMIT


def test_forwarded_for_from_a_client_is_ignored(server, staff):
    statuses = spray_with_forwarded_for(server, usernames=12)
    # Counted against the real source address: the failure that reaches the limit already gets
    # the lockout page.
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == {200: limit - 1, 429: 12 - limit + 1}


def test_forwarded_for_counts_when_a_trusted_proxy_is_configured(proxied_server, staff):
    statuses = spray_with_forwarded_for(proxied_server, usernames=12)
    # Each request names another client address and another username: nothing is locked.
    assert statuses == {200: 12}


def test_behind_a_trusted_proxy_rotating_addresses_still_hit_the_username_limit(
    proxied_server, staff
):
    result = password_attack(
        proxied_server,
        "t-frontdesk",
        guesses=60,
        addresses=5,
        burst=10,
        rotate_forwarded_for=True,
    )
    # Bounded both ways and answered as a refusal, not an error: a server that answered 500
    # (and so evaluated nothing) or that never locked would both fail here.
    assert settings.AXES_FAILURE_LIMIT <= result.evaluated
    assert result.evaluated <= settings.AXES_FAILURE_LIMIT + SERVER_CONCURRENCY
    assert set(result.statuses) <= {200, 429}, result
    assert result.statuses[429] >= 60 - settings.AXES_FAILURE_LIMIT - SERVER_CONCURRENCY
