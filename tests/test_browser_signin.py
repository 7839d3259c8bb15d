"""Sign in and out in real headless Chromium (Debian's), against the live server."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_sign_in_and_out_in_chromium(page, live_url, staff):
    page.goto(f"{live_url}/")
    assert "/account/sign-in/" in page.url
    page.fill("#id_username", "t-frontdesk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    assert page.locator("h1").inner_text() == "Front desk"
    page.click("text=Sign out")
    page.wait_for_url("**/account/sign-in/")
    page.goto(f"{live_url}/")
    assert "/account/sign-in/" in page.url


def test_wrong_password_shows_a_message_in_chromium(page, live_url, staff):
    page.goto(f"{live_url}/account/sign-in/")
    page.fill("#id_username", "t-frontdesk")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "did not match an active account" in page.locator("[role=alert]").inner_text()
