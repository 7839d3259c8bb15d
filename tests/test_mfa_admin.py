"""Administrators reset a user's MFA, end their sessions and unlock them from the User admin;
demo users get TOTP devices."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import signals
from accounts.models import StaffSession
from tests.conftest import give_totp
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")
CHANGELIST = "/admin/auth/user/"


@pytest.fixture
def admin_client(client_for, staff) -> Client:
    admin = staff["admin"]
    perms = Permission.objects.using("owner").filter(
        codename__in=["view_user", "change_user"], content_type__app_label="auth"
    )
    User.objects.db_manager("owner").get(pk=admin.pk).user_permissions.set(perms)
    return client_for(admin)


def run_action(client: Client, action: str, *users: User):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [u.pk for u in users]}, follow=True
    )


def test_reset_removes_devices_ends_sessions_and_is_signalled(admin_client, staff, caplog):
    target = staff["privacy"]
    give_totp(target)
    target_browser = Client()
    sign_in(target_browser, "t-privacy")
    received = []

    def receiver(sender, staff_id, target_id, **kwargs):
        received.append((staff_id, target_id))

    signals.mfa_reset.connect(receiver)
    try:
        with caplog.at_level(logging.INFO, logger="accounts.mfa"):
            response = run_action(admin_client, "reset_mfa", target)
    finally:
        signals.mfa_reset.disconnect(receiver)
    assert response.status_code == 200
    assert not TOTPDevice.objects.using("owner").filter(user=target).exists()
    assert received == [(staff["admin"].pk, target.pk)]
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT staff_id, object_id FROM access_log WHERE action = 'mfa_reset'")
        assert cursor.fetchall() == [(staff["admin"].pk, f"staff:{target.pk}")]
    assert f"MFA reset for staff id {target.pk} by staff id {staff['admin'].pk}" in caplog.text
    assert "t-privacy" not in caplog.text
    assert target_browser.get("/").status_code == 302
    # At the next sign-in the user sets MFA up again.
    sign_in(target_browser, "t-privacy")
    assert target_browser.get("/")["Location"].startswith("/account/mfa/setup/")


def test_admin_ends_all_sessions_of_a_user(admin_client, staff):
    browsers = [Client() for _ in range(2)]
    for b in browsers:
        sign_in(b, "t-clinician")
    run_action(admin_client, "end_all_sessions", staff["clinician"])
    assert all(b.get("/").status_code == 302 for b in browsers)
    assert not StaffSession.objects.using("owner").filter(user=staff["clinician"]).exists()


def test_admin_unlocks_a_locked_user(admin_client, staff):
    locked = Client()
    for _ in range(5):
        sign_in(locked, "t-clinician", "wrong-password-1")
    assert sign_in(locked, "t-clinician").status_code == 429
    run_action(admin_client, "unlock_sign_in", staff["clinician"])
    assert sign_in(locked, "t-clinician").status_code == 302


def test_admin_does_not_show_totp_secrets(admin_client, staff):
    device = give_totp(staff["clinician"])
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    page = admin_client.get(f"{CHANGELIST}{staff['clinician'].pk}/change/")
    assert device.key.encode() not in page.content


@pytest.mark.parametrize("persona", ["clinician", "privacy", "outsider"])
def test_only_administrators_reach_the_user_admin(client_for, staff, persona):
    response = client_for(staff[persona]).post(
        CHANGELIST, {"action": "reset_mfa", "_selected_action": [staff["admin"].pk]}
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_demo_users_get_totp_devices_once(clinic_db):
    out = StringIO()
    call_command("seed_demo", "--patients", "0", stdout=out)
    first = out.getvalue()
    assert (
        TOTPDevice.objects.using("owner").filter(user__username="admin", confirmed=True).count()
        == 1
    )
    out = StringIO()
    call_command("seed_demo", "--patients", "0", stdout=out)
    assert TOTPDevice.objects.using("owner").filter(user__username="admin").count() == 1
    line = next(line for line in first.splitlines() if line.strip().startswith("admin "))
    assert line.split("TOTP: ")[1] in out.getvalue()
