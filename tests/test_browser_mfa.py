"""MFA set-up and the code step, and ending a session from another browser, in Chromium."""

from __future__ import annotations

from base64 import b32decode
from binascii import hexlify

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser_helpers import screenshot, sign_in
from tests.conftest import current_code, give_totp

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_administrator_sets_up_mfa_then_signs_in_with_a_code(page, live_url, staff):
    page.set_default_timeout(30_000)
    page.goto(f"{live_url}/account/sign-in/")
    screenshot(page, "sign-in")
    sign_in(page, live_url, "t-admin")
    page.wait_for_url("**/account/mfa/setup/**")
    assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "mfa-setup")
    # Opening the page stores nothing: the key is read off the page, as a person types it.
    assert not TOTPDevice.objects.using("owner").filter(user=staff["admin"]).exists()
    key = page.inner_text("#mfa-key").replace(" ", "")
    page.fill("#id_otp_token", current_code(TOTPDevice(key=hexlify(b32decode(key)).decode())))
    page.click("main button.primary")
    assert page.locator(".recovery-codes li").count() == 10
    device = TOTPDevice.objects.using("owner").get(user=staff["admin"], confirmed=True)
    page.click("text=I have saved them")
    page.wait_for_url(f"{live_url}/")
    page.click("text=Sign out")
    page.wait_for_url("**/account/sign-in/")

    sign_in(page, live_url, "t-admin")
    page.wait_for_url("**/account/mfa/verify/**")
    device.refresh_from_db()
    # The set-up code's time step is spent; the app's next code is accepted (tolerance 1). If the
    # set-up crossed a 30 s boundary, django-otp recorded the device's clock as one step behind
    # (drift -1, OTP_TOTP_SYNC), so "next" is counted from the device's clock.
    page.fill("#id_otp_token", current_code(device, offset_steps=1 + device.drift))
    page.click("main button.primary")
    page.wait_for_url(f"{live_url}/")
    assert page.locator("h1").inner_text() == "Administrator"


def test_wrong_code_is_refused_in_the_browser(page, live_url, staff):
    page.set_default_timeout(30_000)
    give_totp(staff["clinician"])
    sign_in(page, live_url, "t-clinician")
    page.wait_for_url("**/account/mfa/verify/**")
    page.fill("#id_otp_token", "000000")
    page.click("main button.primary")
    assert "did not match" in page.locator("[role=alert]").inner_text()


def test_ending_a_session_from_another_browser(browser, live_url, staff):
    here = browser.new_context()
    there = browser.new_context()
    try:
        laptop, phone = here.new_page(), there.new_page()
        for p in (laptop, phone):
            p.set_default_timeout(30_000)
            sign_in(p, live_url, "t-clinician")
            p.wait_for_url(f"{live_url}/")
        laptop.goto(f"{live_url}/account/sessions/")
        assert laptop.locator("tr.staff-session").count() == 2
        laptop.locator("tr.staff-session:not(.current) button").click()
        laptop.wait_for_url("**/account/sessions/")
        assert laptop.locator("tr.staff-session").count() == 1
        phone.goto(f"{live_url}/")
        assert "/account/sign-in/" in phone.url
    finally:
        here.close()
        there.close()
