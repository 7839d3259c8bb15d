"""Register a patient and find them again by search, in real headless Chromium."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clinic_db")]


def test_front_desk_registers_a_patient_and_finds_them_by_search(page, live_url, staff):
    page.goto(f"{live_url}/account/sign-in/")
    page.fill("#id_username", "t-frontdesk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")

    page.click("text=Register a new patient")
    page.fill("#id_first_name", "Browser")
    page.fill("#id_last_name", "O'Testperson")
    page.fill("#id_date_of_birth", "1984-07-09")
    page.fill("#id_ssn", "900-55-0001")
    page.select_option("#id_state", "VT")
    page.fill("#id_phone", "(802) 555-0144")
    page.fill("#id_email", "browser@example.test")
    page.click("text=Register patient")
    page.wait_for_url("**/patients/*-*/")
    assert page.locator("h1").inner_text() == "O'Testperson, Browser"
    assert "***-**-0001" in page.content()
    mrn = page.locator("dl.facts dd").first.inner_text().strip()

    page.click("text=Find another patient")
    page.fill("#id_last_name", "o'testperson ")
    page.fill("#id_date_of_birth", "1984-07-09")
    page.locator("form[aria-label='Search by last name and date of birth'] button").click()
    page.wait_for_selector("text=Results")
    assert "/patients/search/" in page.url and "testperson" not in page.url.lower()
    row = page.locator("tbody tr")
    assert row.count() == 1
    assert mrn in row.inner_text()
    assert "***-**-0001" in row.inner_text()
    assert "900-55-0001" not in page.content()

    row.locator("a").click()
    page.click("text=Reveal SSN")
    assert page.locator("#revealed-ssn").inner_text() == "900-55-0001"
