"""django-axes lockout: 5 failures per username and per client address, 30-minute cool-off."""

from __future__ import annotations

import importlib

import pytest

from accounts.lockout import username_key
from tests.conftest import PASSWORD
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")


def fail(client, username: str, times: int, ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        sign_in(client, username, "not-the-password-1", REMOTE_ADDR=ip)


def test_fifth_failure_locks_the_username_even_with_the_right_password(client, staff):
    fail(client, "t-clinician", 5)
    response = sign_in(client, "t-clinician", PASSWORD, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429
    assert b"Sign-in paused" in response.content
    assert b"30 minutes" in response.content


def test_four_failures_do_not_lock(client, staff):
    fail(client, "t-clinician", 4)
    assert sign_in(client, "t-clinician", PASSWORD).status_code == 302


def test_unknown_username_locks_the_same_way(client, staff):
    fail(client, "t-nobody", 5)
    known = sign_in(client, "t-clinician", "wrong-password-2", REMOTE_ADDR="10.0.0.7")
    fail(client, "t-clinician", 4, ip="10.0.0.8")
    unknown = sign_in(client, "t-nobody", "wrong", REMOTE_ADDR="10.0.0.9")
    known = sign_in(client, "t-clinician", "wrong", REMOTE_ADDR="10.0.0.10")
    assert unknown.status_code == known.status_code == 429
    assert unknown.content == known.content


def test_one_address_is_locked_across_usernames(client, staff):
    for name in ("t-a", "t-b", "t-c", "t-d", "t-e"):
        fail(client, name, 1, ip="10.9.9.9")
    response = sign_in(client, "t-frontdesk", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429


def test_forwarded_for_header_is_ignored_without_a_trusted_proxy(client, staff):
    for n in range(5):
        sign_in(
            client, f"t-x{n}", "wrong", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )
    response = sign_in(
        client, "t-frontdesk", PASSWORD, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="192.0.2.200"
    )
    assert response.status_code == 429


def test_axes_keeps_a_fingerprint_of_the_typed_name_not_the_text(client, staff):
    from axes.models import AccessAttempt, AccessFailureLog

    typed = "Sentinel-password-in-the-name-box"
    fail(client, typed, 2)
    stored = [
        (row.username, getattr(row, "post_data", ""))
        for model in (AccessAttempt, AccessFailureLog)
        for row in model.objects.using("owner").all()
    ]
    assert stored and all(name == username_key(typed) for name, _form in stored)
    assert not any(typed in form for _name, form in stored)


def test_names_stored_before_fingerprints_are_converted(staff):
    from axes.models import AccessAttempt
    from django.apps import apps
    from django.db import connections

    migration = importlib.import_module("clinic.migrations.0004_axes_username_fingerprints")
    AccessAttempt.objects.using("owner").create(
        username="t-legacy-typed", ip_address="10.0.0.5", user_agent="test", http_accept="*/*",
        path_info="/account/sign-in/", get_data="", post_data="username=t-legacy-typed",
        failures_since_start=3,
    )  # fmt: skip

    class Editor:
        connection = connections["owner"]

    migration.fingerprint_usernames(apps, Editor())
    row = AccessAttempt.objects.using("owner").get()
    assert row.username == username_key("t-legacy-typed") and row.post_data == ""
    migration.fingerprint_usernames(apps, Editor())  # idempotent
    assert AccessAttempt.objects.using("owner").get().username == username_key("t-legacy-typed")
