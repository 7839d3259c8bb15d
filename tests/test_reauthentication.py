"""Re-authentication before sensitive changes: password, plus a code when the user has a device;
valid for REAUTH_SECONDS; wrong answers count like wrong sign-ins."""

from __future__ import annotations

import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.reauth import REAUTHENTICATED_KEY, reauthentication_required
from tests.conftest import PASSWORD, current_code, give_totp

pytestmark = pytest.mark.usefixtures("clinic_db")
REAUTH = "/account/reauthenticate/"
PROTECTED = "/account/password/"


@pytest.fixture
def stale(settings):
    """Sign-in no longer counts as a recent authentication."""
    settings.REAUTH_SECONDS = 0
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_protected_page_sends_to_re_authentication_with_next(client_for, staff, stale):
    response = client_for(staff["clinician"]).get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"] == f"{REAUTH}?next=%2Faccount%2Fpassword%2F"


def age_reauthentication(client, seconds: float) -> None:
    """Make the session's last (re-)authentication `seconds` old."""
    session = client.session
    session[REAUTHENTICATED_KEY] = time.time() - seconds
    session.save()


def test_password_alone_re_authenticates_a_user_without_a_device(client_for, staff, settings):
    """Starts stale for real (the sign-in is older than REAUTH_SECONDS, and the page refuses),
    so the page opening afterwards is the re-authentication's doing."""
    client = client_for(staff["clinician"])
    age_reauthentication(client, settings.REAUTH_SECONDS + 60)
    assert client.get(PROTECTED)["Location"].startswith(REAUTH)
    page = client.get(f"{REAUTH}?next={PROTECTED}")
    assert b'name="otp_token"' not in page.content
    response = client.post(f"{REAUTH}?next={PROTECTED}", {"password": PASSWORD})
    assert response["Location"] == PROTECTED
    assert client.get(PROTECTED).status_code == 200


def test_user_with_a_device_needs_password_and_code(client_for, staff, stale, settings):
    device = give_totp(staff["admin"])
    client = client_for(staff["admin"])
    assert b'name="otp_token"' in client.get(REAUTH).content
    wrong = client.post(REAUTH, {"password": PASSWORD, "otp_token": "000000"})
    assert wrong.status_code == 200
    assert b"did not match" in wrong.content
    right = client.post(
        f"{REAUTH}?next={PROTECTED}", {"password": PASSWORD, "otp_token": current_code(device)}
    )
    assert right["Location"] == PROTECTED
    settings.REAUTH_SECONDS = 300
    assert client.get(PROTECTED).status_code == 200


def test_wrong_password_is_refused_and_counted(client_for, staff, stale):
    from axes.models import AccessAttempt

    from accounts.lockout import username_key

    client = client_for(staff["clinician"])
    response = client.post(REAUTH, {"password": "not-the-password"})
    assert response.status_code == 200
    assert b"password is not correct" in response.content
    assert AccessAttempt.objects.filter(username=username_key("t-clinician")).exists()
    assert REAUTHENTICATED_KEY in client.session  # the sign-in's, not a new one


def test_too_many_wrong_passwords_end_the_session(client_for, staff, stale):
    client = client_for(staff["clinician"])
    for _ in range(5):
        response = client.post(REAUTH, {"password": "not-the-password"})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_too_many_wrong_codes_end_the_session(client_for, staff, stale):
    give_totp(staff["admin"])
    client = client_for(staff["admin"])
    for _ in range(5):
        response = client.post(REAUTH, {"password": PASSWORD, "otp_token": "000000"})
    assert response.status_code == 429
    assert client.get("/")["Location"].startswith("/account/sign-in/")


def test_re_authentication_does_not_redirect_off_site(client_for, staff):
    client = client_for(staff["clinician"])
    response = client.post(f"{REAUTH}?next=//evil.example/", {"password": PASSWORD})
    assert response["Location"] == "/"


def test_decorator_is_reusable_on_any_view(rf: RequestFactory, staff, client_for):
    @reauthentication_required
    def break_the_glass(request):
        return HttpResponse("ok")

    client = client_for(staff["clinician"])
    request = rf.get("/glass/")
    request.user = staff["clinician"]
    request.session = client.session
    assert break_the_glass(request).status_code == 200
    request.session[REAUTHENTICATED_KEY] = 0
    assert break_the_glass(request)["Location"].startswith(REAUTH)


def test_outsider_can_re_authenticate_for_their_own_account(client_for, staff, stale):
    client = client_for(staff["outsider"])
    response = client.post(f"{REAUTH}?next={PROTECTED}", {"password": PASSWORD})
    assert response["Location"] == PROTECTED


def test_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get(REAUTH)["Location"].startswith("/account/sign-in/")


@pytest.mark.parametrize(
    "common,message",
    [("password1234", "too common"), ("qwertyuiop123", "too common"), ("short-9x", "at least 12")],
)
def test_a_common_or_short_new_password_is_refused_and_nothing_changes(
    client_for, staff, common, message
):
    """The validators docs/compliance.md claims, through the real change form: a password on
    Django's common-password list (20,000 entries) or under 12 characters is refused with a
    message and the stored hash is untouched; a long uncommon one is accepted."""
    from django.contrib.auth.models import User

    user = staff["clinician"]
    before = User.objects.using("owner").get(pk=user.pk).password
    client = client_for(user)
    response = client.post(PROTECTED, {"new_password1": common, "new_password2": common})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.using("owner").get(pk=user.pk).password == before
    strong = "Testzzyzx-harbor-4417"
    saved = client.post(PROTECTED, {"new_password1": strong, "new_password2": strong})
    assert saved.status_code == 302
    assert User.objects.using("owner").get(pk=user.pk).password != before
