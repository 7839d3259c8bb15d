"""Shared steps for the Chromium tests."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def sign_in(page, live_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_url}/account/sign-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def screenshot(page, name: str) -> None:
    """Refresh the README's screenshots only when asked (scripts/screenshots.sh)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def collect_csp_errors(page) -> list[str]:
    """The Content-Security-Policy violations the page reports from now on (filled in place)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return errors


def sign_in_with_code(page, live_url: str, user) -> None:
    """Password then the authenticator's code, for the roles that must use MFA."""
    from tests.conftest import current_code, give_totp

    device = give_totp(user)
    sign_in(page, live_url, user.username)
    page.wait_for_url("**/account/mfa/verify/**")
    page.fill("#id_otp_token", current_code(device))
    page.click("main button.primary")
    page.wait_for_url(f"{live_url}/")


def axe_violations(page, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """axe-core's findings on the page as it is now (the engine ships with the package, so
    nothing is downloaded). `exclude`: CSS selectors of markup that is not ours (Django's own
    admin templates). Each finding names the rule and the elements, never their text."""
    from axe_playwright_python.sync_playwright import Axe

    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    results = Axe().run(page, context=context)
    return [
        f"{page.url.split('//', 1)[-1].split('/', 1)[-1]} {violation['id']}: "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
    ]


def record_amendment_request(page, live_url: str, patient, target: str, text: str) -> None:
    """The privacy officer's steps for an amendment request: find the patient by MRN (POSTed),
    then the request's form about `target` (a visit's id, or "kind:id" for a chart entry)."""
    find = "form[action$='/amendments/find/']"
    page.goto(f"{live_url}/privacy/rights/")
    page.fill(f"{find} input[name=mrn]", patient.mrn)
    page.click(f"{find} button")
    page.wait_for_url(f"**/patients/{patient.pk}/amendments/new/")
    page.select_option("#id_record", target)
    page.select_option("#id_received_how", "mail")
    page.fill("#id_requested", text)
    page.click("text=Record request")
    page.wait_for_selector("text=Amendment request recorded")
    assert "Fake" not in page.url and patient.mrn not in page.url


def open_routed_amendment(page, live_url: str, amendment_id, *, routed: int) -> None:
    """The deciding clinician's list of amendment requests routed to them (`routed` rows), then
    the one to decide."""
    page.goto(f"{live_url}/privacy/rights/routed/")
    assert page.locator("#routed-amendments tbody tr").count() == routed
    page.click(f"a[href='/privacy/rights/routed/{amendment_id}/']")
    page.wait_for_url(f"**/routed/{amendment_id}/")


def clinician_page(page, live_url: str, username: str):
    """A second browser context signed in as a clinician (no MFA), with its CSP errors."""
    other = page.context.browser.new_context(base_url=live_url).new_page()
    errors = collect_csp_errors(other)
    sign_in(other, live_url, username)
    other.wait_for_url(f"{live_url}/")
    return other, errors
