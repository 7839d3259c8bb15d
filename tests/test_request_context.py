"""The per-request database context: one statement, the right role, nothing left behind."""

from __future__ import annotations

import pytest
from django.db import connections

from clinic.db_context import CONTEXT_STATEMENTS

pytestmark = pytest.mark.usefixtures("clinic_db")

PROBE = "SELECT current_user, clinic_staff_id()::text, current_setting('application_name')"


class ContextProbe:
    """Wraps the web connection: after the context statement runs, read what the DB sees."""

    def __init__(self):
        self.seen: list[tuple] = []
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql in CONTEXT_STATEMENTS:
            self.statements += 1
            with context["connection"].cursor() as probe:
                probe.execute(PROBE)
                self.seen.append(probe.fetchone())
        return result


def idle_state():
    with connections["default"].cursor() as cursor:
        cursor.execute(PROBE)
        return cursor.fetchone()


def test_two_users_on_one_connection_get_their_own_context(client, staff):
    probe = ContextProbe()
    with connections["default"].execute_wrapper(probe):
        client.force_login(staff["clinician"])
        assert client.get("/").status_code == 200
        between = idle_state()
        client.force_login(staff["analyst"])
        assert client.get("/").status_code == 200
        after = idle_state()
    clinician, analyst = staff["clinician"].pk, staff["analyst"].pk
    assert probe.seen == [
        ("clinic_clinician", str(clinician), f"staff:{clinician}/clinic_clinician"),
        ("clinic_analyst", str(analyst), f"staff:{analyst}/clinic_analyst"),
    ]
    # Between and after requests the connection is back to the bare web role, no staff id.
    for state in (between, after):
        assert state[0] == "clinic_web"
        assert state[1] in ("", None)
        assert not state[2].startswith("staff:")


def test_context_costs_exactly_one_statement_per_request(client, staff):
    probe = ContextProbe()
    client.force_login(staff["frontdesk"])
    with connections["default"].execute_wrapper(probe):
        client.get("/")
    assert probe.statements == 1


def test_user_without_a_group_gets_only_the_signed_in_role(client, staff):
    probe = ContextProbe()
    client.force_login(staff["outsider"])
    with connections["default"].execute_wrapper(probe):
        client.get("/")
    assert probe.seen == [
        (
            "clinic_signed_in",
            str(staff["outsider"].pk),
            f"staff:{staff['outsider'].pk}/clinic_signed_in",
        )
    ]


def test_user_in_two_groups_gets_no_phi_role(client, staff):
    from django.contrib.auth.models import Group

    user = staff["clinician"]
    user.groups.add(Group.objects.using("owner").get(name="Analyst"))
    probe = ContextProbe()
    client.force_login(user)
    with connections["default"].execute_wrapper(probe):
        client.get("/")
    assert probe.seen[0][0] == "clinic_signed_in"


def test_anonymous_requests_run_without_a_transaction_or_role(client):
    probe = ContextProbe()
    with connections["default"].execute_wrapper(probe):
        client.get("/account/sign-in/")
    assert probe.statements == 0
    assert idle_state()[0] == "clinic_web"


def test_refused_access_is_logged_and_the_request_rolled_back(client, staff):
    client.force_login(staff["analyst"])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT staff_id, role, action, outcome FROM access_log ORDER BY id")
        events = cursor.fetchall()
    assert (staff["analyst"].pk, "clinic_analyst", "access_refused", "404") in events


def test_a_connection_arriving_with_a_leaked_context_is_refused(staff):
    """As if a pooler handed over a connection whose session still had a role set."""
    from django.db import transaction

    from clinic.db_context import LeakedContextError, apply_context

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT set_config('app.staff_token', '999', false)")  # session-level leak
    try:
        with pytest.raises(LeakedContextError):
            with transaction.atomic(using="default"):
                apply_context("clinic_clinician", staff["clinician"].pk)
    finally:
        # Through a transaction pooler the poisoned server connection would be handed on.
        with connections["default"].cursor() as cursor:
            cursor.execute("RESET ALL")
        connections["default"].close()


def test_a_clean_connection_passes_the_arrival_check(staff):
    from django.db import transaction

    from clinic.db_context import apply_context

    with transaction.atomic(using="default"):
        apply_context("clinic_clinician", staff["clinician"].pk)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == ("clinic_clinician",)


def _events(action: str) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM access_log WHERE action = %s", [action])
        return cursor.fetchone()[0]


def test_an_event_commits_with_its_request_and_is_appended_last(client_for, staff, monkeypatch):
    from clinic import access_log, views

    seen_during_view = []

    def home(request):
        access_log.record(request, access_log.CHART_VIEWED, object_id="probe")
        seen_during_view.append(_events(access_log.CHART_VIEWED))  # another connection
        return views.render(request, "clinic/home/no_group.html")

    import clinic.urls

    monkeypatch.setattr(clinic.urls.urlpatterns[0], "callback", home)
    assert client_for(staff["clinician"]).get("/").status_code == 200
    assert seen_during_view == [0]  # held until the end of the request...
    assert _events(access_log.CHART_VIEWED) == 1  # ...and committed with it


def test_a_request_that_fails_after_recording_leaves_no_event(client_for, staff, monkeypatch):
    from clinic import access_log

    def home(request):
        access_log.record(request, access_log.CHART_VIEWED, object_id="probe")
        raise RuntimeError("fails half-way")

    import clinic.urls

    monkeypatch.setattr(clinic.urls.urlpatterns[0], "callback", home)
    client = client_for(staff["clinician"])
    client.raise_request_exception = False
    assert client.get("/").status_code == 500
    assert _events(access_log.CHART_VIEWED) == 0


def test_the_user_is_loaded_in_the_requests_own_transaction(client, staff):
    """One transaction from the user's load to COMMIT: the load's own BEGIN and COMMIT are
    gone (two round trips of every page), and its token is the one the context replaces."""
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff["clinician"])
    assert client.get("/").status_code == 200  # warm-up: session and caches settled
    with CaptureQueriesContext(connections["default"]) as queries:
        assert client.get("/").status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements.count("BEGIN") == 1, statements
    assert statements.count("COMMIT") == 1, statements
    begin = statements.index("BEGIN")
    # The session's load (autocommit) may come first; inside the transaction the first
    # statement is the arrival check that names the user, then the user's row, then the context.
    assert statements[begin + 1].startswith("SELECT current_user = session_user")
    assert "auth_user" in statements[begin + 2]
    assert statements[begin + 3].startswith("SELECT current_user = session_user")


def _poison(statement: str) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute(statement)


@pytest.mark.parametrize(
    "leak",
    [
        "SELECT set_config('app.staff_token', '999', false)",
        "SET ROLE clinic_clinician",
    ],
    ids=["staff token", "role"],
)
def test_a_request_arriving_on_a_leaked_context_is_refused_before_its_user_is_read(
    client, staff, leak
):
    """The request's first statement checks the arrival: the user's row is never read (and no
    page served) on a connection that still carries a session-level role or staff id."""
    from django.test.utils import CaptureQueriesContext

    from clinic.db_context import LeakedContextError

    client.force_login(staff["frontdesk"])
    assert client.get("/").status_code == 200
    _poison(leak)
    try:
        with CaptureQueriesContext(connections["default"]) as queries:
            with pytest.raises(LeakedContextError):
                client.get("/")
        assert not any("auth_user" in q["sql"] for q in queries.captured_queries)
    finally:
        _poison("RESET ALL")
        _poison("RESET ROLE")
        connections["default"].close()
