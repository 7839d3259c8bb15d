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
