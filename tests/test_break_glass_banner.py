"""The break-the-glass banner's grants, read by the request's role switch (records/db_banner.py):
the same grants as the banner's own query, no statement of their own, and nothing for SQL that
is not the clinician's own switch."""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from clinic import roles
from clinic.db_context import apply_context
from clinic.staff_identity import NAME_SQL, name_params
from records.break_glass import active_grants, banner_grants_from
from tests.db_helpers import in_request
from tests.factories import PatientFactory
from tests.records_support import banner_grant_set

pytestmark = pytest.mark.usefixtures("clinic_db")

CLINICIAN = roles.GROUP_ROLES[roles.CLINICIAN]
ASK = "SELECT public.clinic_banner_grants()"


@pytest.fixture
def grants(staff):
    """Two active grants of the clinician (soonest first), and ones the banner never shows."""
    return banner_grant_set(staff["clinician"], staff["clinician2"], PatientFactory())


def switch(role: str, user_id: int) -> list:
    with transaction.atomic(using="default"):
        rows = apply_context(role, user_id, banner=True)
        expected = [
            (g.grant_id, g.reason_category, g.expires_at)
            for g in active_grants(type("Staff", (), {"pk": user_id})())
        ]
        transaction.set_rollback(True, using="default")
    shown = [(g.grant_id, g.reason_category, g.expires_at) for g in banner_grants_from(rows)]
    assert shown == expected
    return shown


def test_the_switch_reads_the_same_grants_as_the_banners_query(staff, grants):
    soon, later = grants
    shown = switch(CLINICIAN, staff["clinician"].pk)
    assert [row[0] for row in shown] == [soon.pk, later.pk]
    assert [row[2] for row in shown] == [soon.expires_at, later.expires_at]
    assert switch(CLINICIAN, staff["clinician2"].pk)[0][0] not in (soon.pk, later.pk)
    # One connection, the function's plan kept for the session (PL/pgSQL) and used well past
    # PostgreSQL's custom-plan phase: each switch still reads its own clinician's grants.
    for _ in range(7):
        assert [row[0] for row in switch(CLINICIAN, staff["clinician"].pk)] == [soon.pk, later.pk]
        assert switch(CLINICIAN, staff["clinician2"].pk)[0][0] not in (soon.pk, later.pk)


def test_a_clinicians_page_shows_the_banner_without_a_statement_of_its_own(
    client_for, staff, grants
):
    client = client_for(staff["clinician"])
    client.get("/")
    with CaptureQueriesContext(connections["default"]) as queries:
        page = client.get("/")
    assert b"break-glass-banner" in page.content
    assert str(grants[0].pk).encode() in page.content
    assert not any("FROM break_glass_grants" in q["sql"] for q in queries.captured_queries)


def test_other_roles_pages_ask_nothing(client_for, staff):
    client = client_for(staff["frontdesk"])
    client.get("/")
    with CaptureQueriesContext(connections["default"]) as queries:
        client.get("/")
    assert not any("clinic_banner_grants" in q["sql"] for q in queries.captured_queries)


def ask_bare(*setup: tuple[str, list]) -> object:
    """The function asked by the bare web login in a transaction of its own, after `setup`."""
    with transaction.atomic(using="default"), connections["default"].cursor() as cursor:
        for statement, params in setup:
            cursor.execute(statement, params)
        cursor.execute(ASK)
        answer = cursor.fetchone()[0]
        transaction.set_rollback(True, using="default")
    return answer


def test_the_bare_web_login_is_told_nothing(staff, grants):
    assert ask_bare() == []
    # A token it writes itself does not verify.
    forged = f"{staff['clinician'].pk}.{CLINICIAN}.9999999999.{'0' * 64}"
    assert (
        ask_bare(
            (
                NAME_SQL,
                [forged, f"staff:{staff['clinician'].pk}/{CLINICIAN}"],
            )
        )
        == []
    )


def test_the_users_own_load_token_is_not_the_clinicians(staff, grants):
    """The token the request sets to load its user names the bare web login's role: the
    function answers the clinician role only."""
    params = name_params(staff["clinician"].pk, roles.WEB_ROLE)
    assert ask_bare((NAME_SQL, params)) == []


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "clinician"])
def test_injected_into_a_request_it_is_refused(staff, grants, persona):
    """After the switch the request runs as its group role, which may not execute it: SQL
    injected into a page reads the grants no other way than the clinician's own policy."""
    from django.db.utils import ProgrammingError

    with pytest.raises(ProgrammingError, match="permission denied"):
        in_request(staff[persona], ASK)
