"""The user's load (accounts/backends.py `user_load_sql`), the first statement of every signed-in
request: the account's row, its group names and whether it has a confirmed MFA device, in one
statement run in the user's own request (the device tables' row-level security shows a user
only their own devices). Its device question is one EXISTS over a UNION ALL of the device
tables: right for each kind of device, and audited as one plan."""

from __future__ import annotations

import pytest
from django.db import connections
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.backends import user_load_sql
from tests.conftest import give_totp
from tests.db_helpers import audit_lines, audited_tables, in_request
from tests.factories import TOTPDeviceFactory

pytestmark = pytest.mark.usefixtures("clinic_db")


def loaded_has_device(user) -> bool:
    statement = user_load_sql()
    ((*_row, has_device),) = in_request(user, statement.sql, statement.params(user.pk))
    return has_device


def test_no_device_or_an_unconfirmed_one_is_no_device(staff):
    user = staff["clinician"]
    assert loaded_has_device(user) is False
    TOTPDeviceFactory(user=user, confirmed=False)
    StaticDevice.objects.using("owner").create(user=user, name="Recovery", confirmed=False)
    assert loaded_has_device(user) is False


def test_a_confirmed_device_of_either_kind_is_a_device(staff):
    give_totp(staff["clinician"])
    StaticDevice.objects.using("owner").create(user=staff["clinician2"], name="Recovery")
    assert loaded_has_device(staff["clinician"]) is True
    assert loaded_has_device(staff["clinician2"]) is True
    # A colleague's device is not the user's.
    assert loaded_has_device(staff["frontdesk"]) is False


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "privacy"])
def test_the_load_is_audited_as_one_plan(staff, persona):
    """Asked as one EXISTS per device table, ORed, each was planned twice (probed per row and
    hashed) and PostgreSQL initialised both plans, with the tables' own policies: pgaudit wrote
    each device table twice and 13 lines for the load on every signed-in page. As one EXISTS
    over a UNION ALL: every table once, 9 lines."""
    user = staff[persona]
    connections["default"].close()  # a new session: nothing planned before
    statement = user_load_sql()
    lines = audit_lines(user, statement.sql, statement.params(user.pk))
    tables = audited_tables(lines)
    assert sorted(tables) == sorted(set(tables)), tables
    assert "public.otp_static_staticdevice" in tables and "public.otp_totp_totpdevice" in tables
    assert len(lines) <= 9, "\n".join(line.split("AUDIT: ")[1][:80] for line in lines)
