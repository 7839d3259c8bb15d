"""Session ends and security administration in the access log, and the declared actions.

Each cause of a session's end writes one `session_ended` event (cause in `reason`, by the right
staff id); each change an administrator makes to an account through the admin pages writes its
event in the same transaction; the console's action filter offers exactly the declared actions.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from accounts.admin import StaffAdmin
from accounts.models import StaffSession
from accounts.session_store import digest
from clinic import access_log
from clinic.access_log.chain import verify_chain
from privacy.forms import AccessLogSearchForm
from tests.privacy_helpers import events
from tests.test_session_control import CHROME_MAC, browser
from tests.test_session_lifetime import age_session, signed_in

pytestmark = pytest.mark.usefixtures("clinic_db")
SESSIONS = "/account/sessions/"
USERS = "/admin/auth/user/"
NEW_PASSWORD = "a-fake-new-passphrase-42"


def ended(**filters) -> list[tuple[int | None, str, str]]:
    return [
        (e.staff_id, e.object_id, e.reason) for e in events(access_log.SESSION_ENDED, **filters)
    ]


def session_key(client: Client) -> str:
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key
    return key


def assert_no_session_secret_logged(*keys: str) -> None:
    texts = [f"{e.object_id}|{e.reason}|{e.outcome}" for e in events(access_log.SESSION_ENDED)]
    assert texts
    for key in keys:
        for secret in (key, digest(key)):
            assert not any(secret in text for text in texts)


# --- session_ended: every cause ---------------------------------------------------------------


def test_signing_out_ends_the_session_with_its_cause(staff):
    client = browser("t-clinician")
    key = session_key(client)
    client.post("/account/sign-out/")
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", "signed_out")]
    assert_no_session_secret_logged(key)


@pytest.mark.parametrize(
    "limit,age",
    [
        ("idle", {"idle": settings.SESSION_IDLE_SECONDS + 1}),
        ("absolute", {"absolute": settings.SESSION_ABSOLUTE_SECONDS + 1}),
    ],
)
def test_a_session_past_its_limit_ends_with_that_limit(client_for, staff, limit, age):
    client = signed_in(client_for, staff["clinician"])
    age_session(client, **age)
    assert client.get("/").status_code == 302
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", limit)]
    assert access_log.SIGN_OUT not in [e.action for e in events()]


def test_ending_this_session_in_my_sessions(staff):
    client = browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(client.session.session_key))
    client.post(f"{SESSIONS}{row.pk}/end/")
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", "ended_by_user")]


def test_ending_another_of_my_sessions(staff):
    other = browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician")
    row = StaffSession.objects.using("owner").get(session_key=digest(other.session.session_key))
    client.post(f"{SESSIONS}{row.pk}/end/")
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", "ended_by_user")]
    assert_no_session_secret_logged(session_key(other), session_key(client))


def test_ending_all_my_other_sessions_is_one_event_with_the_count(staff):
    for _ in range(2):
        browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician")
    client.post(f"{SESSIONS}end-others/")
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", "ended_by_user")]
    assert events(access_log.SESSION_ENDED)[0].outcome == "2 ended"


def test_changing_my_password_ends_my_other_sessions(staff):
    browser("t-clinician", CHROME_MAC)
    client = browser("t-clinician")
    client.post(
        "/account/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    me = staff["clinician"].pk
    assert ended() == [(me, f"staff:{me}", "password_changed")]
    assert [(e.staff_id, e.object_id) for e in events(access_log.PASSWORD_CHANGED)] == [
        (me, f"staff:{me}")
    ]


def test_a_password_change_with_no_other_session_ends_none(staff):
    client = browser("t-clinician")
    client.post(
        "/account/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert ended() == []


# --- security administration through the admin pages ----------------------------------------


@pytest.fixture
def admin_client(client_for, staff) -> Client:
    perms = Permission.objects.using("owner").filter(
        codename__in=["add_user", "view_user", "change_user"], content_type__app_label="auth"
    )
    User.objects.db_manager("owner").get(pk=staff["admin"].pk).user_permissions.set(perms)
    client = client_for(staff["admin"])
    # Setting up the personas wrote account events of its own (by nobody): only later ones count.
    client.since = events()[-1].id  # type: ignore[attr-defined]
    return client


def group(name: str) -> Group:
    return Group.objects.using("owner").get(name=name)


def change_payload(user: User, groups: list[Group], *, active: bool = True) -> dict:
    payload = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "groups": [g.pk for g in groups],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    if active:
        payload["is_active"] = "on"
    return payload


def by_admin(client: Client, action: str, staff) -> list[tuple[str, str]]:
    found = events(action, id__gt=client.since)  # type: ignore[attr-defined]
    assert all(e.staff_id == staff["admin"].pk for e in found)
    return [(e.object_id, e.reason) for e in found]


def assert_no_username_logged(*users: User) -> None:
    for e in events():
        for user in users:
            assert user.username not in f"{e.object_id}|{e.reason}|{e.outcome}"


def test_administrator_ending_all_sessions_is_logged_by_them_for_the_target(admin_client, staff):
    for _ in range(2):
        browser("t-clinician")
    admin_client.post(
        USERS, {"action": "end_all_sessions", "_selected_action": [staff["clinician"].pk]}
    )
    target = staff["clinician"].pk
    assert ended(staff_id=staff["admin"].pk) == [
        (staff["admin"].pk, f"staff:{target}", "ended_by_admin")
    ]
    assert ended(staff_id=target) == []


def test_creating_a_user_logs_the_account_and_its_group(admin_client, staff):
    response = admin_client.post(
        f"{USERS}add/",
        {
            "username": "t-fake-newcomer",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
            "groups": [group("Front desk").pk],
        },
    )
    assert response.status_code == 302, response.content[:3000]
    new = User.objects.using("owner").get(username="t-fake-newcomer")
    assert by_admin(admin_client, access_log.STAFF_CREATED, staff) == [(f"staff:{new.pk}", "")]
    assert by_admin(admin_client, access_log.GROUP_ADDED, staff) == [
        (f"staff:{new.pk}", "Front desk")
    ]
    assert_no_username_logged(new)
    assert verify_chain().ok


def test_changing_a_users_group_logs_removal_and_addition(admin_client, staff):
    target = staff["frontdesk"]
    response = admin_client.post(
        f"{USERS}{target.pk}/change/", change_payload(target, [group("Analyst")])
    )
    assert response.status_code == 302
    assert by_admin(admin_client, access_log.GROUP_REMOVED, staff) == [
        (f"staff:{target.pk}", "Front desk")
    ]
    assert by_admin(admin_client, access_log.GROUP_ADDED, staff) == [
        (f"staff:{target.pk}", "Analyst")
    ]
    assert_no_username_logged(target)


def test_saving_a_user_unchanged_logs_nothing(admin_client, staff):
    target = staff["frontdesk"]
    admin_client.post(f"{USERS}{target.pk}/change/", change_payload(target, [group("Front desk")]))
    watched = {
        access_log.GROUP_ADDED,
        access_log.GROUP_REMOVED,
        access_log.STAFF_ACTIVATED,
        access_log.STAFF_DEACTIVATED,
        access_log.PASSWORD_CHANGED,
    }
    assert watched.isdisjoint(e.action for e in events(id__gt=admin_client.since))


def test_deactivating_and_reactivating_a_user(admin_client, staff):
    target = staff["clinician"]
    victim_browser = browser("t-clinician")
    url = f"{USERS}{target.pk}/change/"
    admin_client.post(url, change_payload(target, [group("Clinician")], active=False))
    assert by_admin(admin_client, access_log.STAFF_DEACTIVATED, staff) == [
        (f"staff:{target.pk}", "")
    ]
    assert ended() == [(staff["admin"].pk, f"staff:{target.pk}", "deactivated")]
    assert victim_browser.get("/").status_code == 302
    admin_client.post(url, change_payload(target, [group("Clinician")]))
    assert by_admin(admin_client, access_log.STAFF_ACTIVATED, staff) == [(f"staff:{target.pk}", "")]


def test_administrator_setting_a_password_logs_it_and_signs_the_user_out(admin_client, staff):
    target = staff["clinician"]
    victim_browser = browser("t-clinician")
    response = admin_client.post(
        f"{USERS}{target.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:3000]
    assert by_admin(admin_client, access_log.PASSWORD_CHANGED, staff) == [
        (f"staff:{target.pk}", "")
    ]
    assert ended() == [(staff["admin"].pk, f"staff:{target.pk}", "password_changed")]
    assert victim_browser.get("/").status_code == 302
    for e in events():
        assert NEW_PASSWORD not in f"{e.object_id}|{e.reason}|{e.outcome}"


def test_administrator_unlock_and_mfa_reset_are_logged(admin_client, staff):
    target = staff["clinician"]
    for action in ("unlock_sign_in", "reset_mfa"):
        admin_client.post(USERS, {"action": action, "_selected_action": [target.pk]})
    assert by_admin(admin_client, access_log.UNLOCK, staff) == [(f"staff:{target.pk}", "account")]
    assert by_admin(admin_client, access_log.MFA_RESET, staff) == [(f"staff:{target.pk}", "")]


def test_a_change_that_fails_writes_no_event(admin_client, staff, monkeypatch):
    def fail_after_saving(self, request, form, formsets, change):
        original(self, request, form, formsets, change)
        raise RuntimeError("simulated failure after the groups were saved")

    original = StaffAdmin.save_related
    monkeypatch.setattr(StaffAdmin, "save_related", fail_after_saving)
    target = staff["frontdesk"]
    admin_client.raise_request_exception = False
    response = admin_client.post(
        f"{USERS}{target.pk}/change/", change_payload(target, [group("Analyst")], active=False)
    )
    assert response.status_code == 500
    names = set(User.objects.using("owner").get(pk=target.pk).groups.values_list("name", flat=True))
    assert names == {"Front desk"}
    assert User.objects.using("owner").get(pk=target.pk).is_active
    actions = {e.action for e in events(id__gt=admin_client.since)}
    assert {
        access_log.GROUP_ADDED,
        access_log.GROUP_REMOVED,
        access_log.STAFF_DEACTIVATED,
    }.isdisjoint(actions)


def test_the_console_lists_administration_events_with_their_labels(admin_client, client_for, staff):
    target = staff["frontdesk"]
    admin_client.post(f"{USERS}{target.pk}/change/", change_payload(target, [group("Analyst")]))
    response = client_for(staff["privacy"]).get(
        "/privacy/access-log/", {"action": access_log.GROUP_ADDED}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<td title="{access_log.GROUP_ADDED}">Added to a group</td>' in body
    assert f"staff:{target.pk}" in body


# --- one declared set of actions --------------------------------------------------------------


def test_the_action_filter_offers_exactly_the_declared_actions():
    choices = AccessLogSearchForm().fields["action"].choices
    assert choices[0] == ("", "Any action")
    assert dict(choices[1:]) == access_log.ACTIONS
    assert not any(value.startswith("_") for value, _ in choices)


def test_the_access_log_page_offers_no_internal_names(client_for, staff):
    body = client_for(staff["privacy"]).get("/privacy/access-log/").content.decode()
    assert access_log.QUEUE_ATTR not in body and access_log.PENDING_ATTR not in body
    for action, label in access_log.ACTIONS.items():
        assert f'<option value="{action}">{label}</option>' in body


def test_an_undeclared_action_is_refused_before_it_reaches_the_log():
    with pytest.raises(ValueError, match="undeclared"):
        access_log.record(None, "made_up_action", object_id="x")
    with pytest.raises(ValueError, match="undeclared"):
        access_log.record_change("made_up_action")
    assert events("made_up_action") == []
