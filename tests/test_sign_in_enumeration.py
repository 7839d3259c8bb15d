"""Sign-in tells nobody whether an account exists: an unknown username, an inactive user and a
wrong password get the same page and status; locked, an existing and an unknown username get the
same lockout page. (Timing over 200 tries each: scripts/enumeration_timing.py.)"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from clinic import roles
from tests.conftest import make_staff

pytestmark = pytest.mark.usefixtures("clinic_db")
LOGIN = "/account/sign-in/"
TOKEN = re.compile(rb'value="[A-Za-z0-9]{64}"')


def attempt(username: str, password: str, address: str):
    client = Client(REMOTE_ADDR=address)
    client.get(LOGIN)
    started = time.perf_counter()
    response = client.post(LOGIN, {"username": username, "password": password})
    seconds = time.perf_counter() - started
    page = TOKEN.sub(b'value="TOKEN"', response.content).replace(username.encode(), b"USERNAME")
    return response.status_code, page, seconds


@pytest.fixture
def accounts(staff):
    make_staff("t-inactive", roles.CLINICIAN, is_active=False)
    return staff


def test_unknown_inactive_and_wrong_password_look_the_same(accounts):
    answers = [
        attempt("t-nobody", "wrong-password-1", "10.3.0.1"),
        attempt("t-inactive", "wrong-password-1", "10.3.0.2"),
        attempt("t-inactive", "correct-horse-battery-staple-42", "10.3.0.3"),
        attempt("t-clinician", "wrong-password-1", "10.3.0.4"),
    ]
    assert {status for status, _page, _s in answers} == {200}
    assert len({page for _status, page, _s in answers}) == 1


def test_locked_existing_and_unknown_usernames_get_the_same_lockout_page(accounts):
    for n in range(5):
        attempt("t-clinician", "wrong-password-1", f"10.5.0.{n + 1}")
        attempt("t-ghost", "wrong-password-1", f"10.5.1.{n + 1}")
    locked = attempt("t-clinician", "wrong-password-1", "10.5.2.1")
    ghost = attempt("t-ghost", "wrong-password-1", "10.5.2.2")
    assert locked[0] == ghost[0] == 429
    assert locked[1] == ghost[1]
