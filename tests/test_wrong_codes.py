"""One wrong-code flow (accounts.mfa.check_code) behind the code step, re-authentication and
break the glass: one count per user across all three, and a code is only checked (and spent)
once the rest of the form is valid."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import MfaFailures
from records.models import BreakGlassGrant
from tests.conftest import PASSWORD, current_code, give_totp
from tests.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def clinician_with_code(client_for, staff):
    """A clinician with an authenticator, fully signed in (past the code step)."""
    device = give_totp(staff["clinician"])
    client = client_for(staff["clinician"])
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client, device


def wrong_codes(user) -> int:
    row = MfaFailures.objects.using("owner").filter(user=user).first()
    return row.count if row else 0


def break_glass_form(code: str, *, category: str = "emergency", text: str = "") -> dict:
    return {
        "password": PASSWORD,
        "reason_category": category,
        "reason_text": text,
        "otp_token": code,
    }


def test_wrong_codes_count_once_across_re_authentication_and_break_the_glass(
    clinician_with_code, staff
):
    client, _device = clinician_with_code
    patient = PatientFactory()
    limit = settings.MFA_FAILURE_LIMIT
    for number in range(1, limit - 1):
        page = client.post(
            "/account/reauthenticate/", {"password": PASSWORD, "otp_token": "000000"}
        )
        assert page.status_code == 200 and b"That code did not match" in page.content
        assert wrong_codes(staff["clinician"]) == number
    page = client.post(f"/break-glass/{patient.pk}/", break_glass_form("000000"))
    assert page.status_code == 200 and b"That code did not match" in page.content
    assert wrong_codes(staff["clinician"]) == limit - 1
    # The last allowed wrong code, wherever it is typed, ends the sign-in.
    ended = client.post(f"/break-glass/{patient.pk}/", break_glass_form("000000"))
    assert ended.status_code == 429
    assert client.get("/").status_code == 302  # signed out
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_an_incomplete_break_the_glass_form_neither_counts_nor_spends_the_code(
    clinician_with_code, staff
):
    client, device = clinician_with_code
    patient = PatientFactory()
    code = current_code(device)
    # "Other" without an explanation: refused for that alone, the code is not looked at.
    page = client.post(f"/break-glass/{patient.pk}/", break_glass_form(code, category="other"))
    assert page.status_code == 200 and b"Explain the reason" in page.content
    assert b"That code did not match" not in page.content
    assert wrong_codes(staff["clinician"]) == 0
    # The same code still works: it was not spent (a TOTP code is accepted only once).
    done = client.post(
        f"/break-glass/{patient.pk}/",
        break_glass_form(code, category="other", text="Testexplanation"),
    )
    assert done.status_code == 302
    assert BreakGlassGrant.objects.using("owner").count() == 1


def test_a_right_code_clears_earlier_wrong_ones(clinician_with_code, staff):
    client, device = clinician_with_code
    client.post("/account/reauthenticate/", {"password": PASSWORD, "otp_token": "000000"})
    assert wrong_codes(staff["clinician"]) == 1
    # django-otp also slows guesses per device (1 s after one failure): as if that second passed.
    type(device).objects.using("owner").filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    ok = client.post(
        "/account/reauthenticate/", {"password": PASSWORD, "otp_token": current_code(device)}
    )
    assert ok.status_code == 302
    assert wrong_codes(staff["clinician"]) == 0
