"""What one request of each main page costs the database and the keys: the statements it sends
on the web connection and the values it decrypts, each bounded by what the page shows
(issue #23; #20 item 4: decrypt only what the page shows).

Every signed-in page pays the same fixed part, 8 statements as Django counts them (BEGIN and
COMMIT included): the session's load and its save (the idle clock moves), the request's BEGIN,
the arrival check that names the session's user, the user read as that user with their group
names and whether they have a confirmed device, for the MFA gate, the role switch
(`CONTEXT_SQL`), the access-log append (held to the request's end) and COMMIT; a user verified
with a code adds the session's device (9). Until issue 23's second round the user was read in a
transaction of its own (its BEGIN and COMMIT: 10), and a clinician's pages added the
break-the-glass banner's grants, which the role switch now reads in its own statement
(records/db_banner.py). Each test names the page's own statements on top of that; before
issue #23 the same pages sent 5 more (the group on its own, the two device tables one by one,
then the gate's device check on its own, a savepoint around the append) and decrypted every
identifier.

`CLINIC_PAGE_COSTS=1` prints the measured figures (counts only, no data) for docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chart.access import chart_patient_query
from clinic import encryption, roles
from records.models import ClinicalRecord
from rights import patient_facts
from tests.analytics_helpers import refresh
from tests.db_helpers import request_cursor
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
)

pytestmark = pytest.mark.usefixtures("clinic_db")
VISITS = 5
REPORT = os.environ.get("CLINIC_PAGE_COSTS") == "1"


@dataclass
class Cost:
    statements: list[str]
    decryptions: dict[str, int]

    @property
    def decrypted(self) -> int:
        return sum(self.decryptions.values())

    def __str__(self) -> str:
        return f"{len(self.statements)} statements, {self.decrypted} decryptions"


def measure(client, method: str, url: str, data: dict | None = None) -> Cost:
    """One request after a warm-up request of the same page (session and caches settled)."""
    send = getattr(client, method)
    assert send(url, data or {}).status_code == 200
    counted: dict[str, int] = {}
    original = encryption.decrypt_value

    def counting(stored: str, aad: str) -> str:
        counted[aad] = counted.get(aad, 0) + 1
        return original(stored, aad)

    encryption.decrypt_value = counting  # type: ignore[assignment]
    try:
        with CaptureQueriesContext(connections["default"]) as queries:
            response = send(url, data or {})
    finally:
        encryption.decrypt_value = original  # type: ignore[assignment]
    assert response.status_code == 200
    cost = Cost([q["sql"] for q in queries.captured_queries], counted)
    if REPORT:
        print(f"\nPAGE COST {url.split('/')[1] or 'home'} {method}: {cost} {sorted(counted)}")
        if os.environ.get("CLINIC_PAGE_COSTS_SQL") == "1":
            print(show(cost))
    return cost


def show(cost: Cost) -> str:
    """The statements without their literals (a failing assertion's message: no values, no
    session key or token)."""
    return "\n".join(re.sub(r"'[^']*'", "'-'", sql)[:120] for sql in cost.statements)


@pytest.fixture
def patient(staff):
    patient = PatientFactory(ssn="900-12-3456", phone="202-555-0142")
    CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
    for _ in range(VISITS):
        ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    return patient


FIXED = 8


@pytest.mark.parametrize("persona", ["frontdesk", "clinician"])
def test_patient_summary_decrypts_only_what_it_shows(client_for, staff, patient, persona):
    url = reverse("patients:detail", kwargs={"patient_id": patient.pk})
    cost = measure(client_for(staff[persona]), "get", url)
    # Name (2), MRN, masked SSN and phone, gender identity: not the address, e-mail or the
    # date of birth, which the page shows only when revealed.
    assert cost.decrypted <= 6, cost.decryptions
    assert "patient_identities.date_of_birth" not in cost.decryptions
    # The patient's row, which also answers (for a clinician) "may record a visit" and whether
    # there is anything to show under the patient's rights (restrictions and confidential
    # communications in force, 164.522; amendments, 164.526: rights/patient_facts.py). This
    # patient has none, so none of their reads is sent; before, each was a statement of its
    # own on every summary, then all of them one more statement
    # (tests/test_rights_patient_facts.py checks they come with the patient's row).
    page = 1
    assert len(cost.statements) <= FIXED + page, show(cost)


def test_visit_list_decrypts_the_header_only(client_for, staff, patient):
    url = reverse("records:visit-list", kwargs={"patient_id": patient.pk})
    cost = measure(client_for(staff["clinician"]), "get", url)
    # The header: last name, first name, MRN. No note (the list never shows one).
    assert cost.decrypted <= 3, cost.decryptions
    # The patient (with the care-team decision), the visits with their providers.
    assert len(cost.statements) <= FIXED + 2, show(cost)


@pytest.mark.parametrize("persona", ["frontdesk", "clinician"])
def test_care_team_page_decrypts_the_header_only(client_for, staff, patient, persona):
    url = reverse("records:care-team", kwargs={"patient_id": patient.pk})
    cost = measure(client_for(staff[persona]), "get", url)
    # Of the patient, the header: last name, first name, MRN (and each member's reason).
    of_the_patient = {k: n for k, n in cost.decryptions.items() if k.startswith("patient_")}
    assert sum(of_the_patient.values()) <= 3, cost.decryptions
    assert "patient_identities.ssn" not in of_the_patient


def test_note_draft_autosave_decrypts_nothing_of_the_patient(client_for, staff, patient):
    """The autosave runs every few seconds while a clinician types and shows nothing of the
    patient: only the id is read (the draft it updates is read, and decrypted, as before)."""
    from records.drafts import SAVE_PATH

    form = {"patient_id": str(patient.pk), "visit_date": "2024-03-04", "notes": "Fake draft"}
    cost = measure(client_for(staff["clinician"]), "post", SAVE_PATH, form)
    assert not [k for k in cost.decryptions if k.startswith("patient_")], cost.decryptions
    assert not any('"restrictions"' in sql for sql in cost.statements), show(cost)


def test_visit_page_decrypts_the_header_and_the_note(client_for, staff, patient):
    record = ClinicalRecord.objects.using("owner").filter(patient=patient).first()
    url = reverse("records:visit-detail", kwargs={"record_id": record.pk})
    cost = measure(client_for(staff["clinician"]), "get", url)
    # The header and the note.
    assert cost.decrypted <= 4, cost.decryptions
    # The record with its patient and provider, its addenda.
    assert len(cost.statements) <= FIXED + 2, show(cost)


def test_search_decrypts_what_the_result_row_shows(client_for, staff, patient):
    form = {"mode": "mrn", "mrn": patient.mrn}
    cost = measure(client_for(staff["frontdesk"]), "post", reverse("patients:search"), form)
    # Name (2), MRN, masked SSN and phone per patient found.
    assert cost.decrypted <= 5, cost.decryptions
    # The blind-index look-up.
    assert len(cost.statements) <= FIXED + 1, show(cost)


def test_analyst_dashboard_decrypts_nothing(client_for, staff, patient):
    refresh()
    cost = measure(client_for(staff["analyst"]), "get", reverse("analytics:dashboard"))
    assert cost.decrypted == 0, cost.decryptions
    # Providers, visit panels, patient panels, the refresh time; no access event.
    assert len(cost.statements) <= FIXED - 1 + 4, show(cost)


@pytest.mark.parametrize(
    ("persona", "most_statements"),
    # Front desk: today's figures counted in SQL, those waiting, the next expected (three small
    # reads instead of the whole day; no one is waiting in this test, so no event); no count of
    # the bookings to re-arrange (the list counts them: scheduling/today.py). Clinician:
    # my day, the overdue notes, the amendments routed to them, the banner, an event. Analyst:
    # four figures' tables, no event. Privacy officer: reviews, flags, lockouts and their counts,
    # the patients' requests on a clock. Administrator: accounts, their groups, devices,
    # lockouts; both are verified with a code, so the session's device is read too. (Measured
    # 11-12, 12, 12, 16, 13; the clinician's 13 until the routed amendments' count and first
    # due date became one statement, the privacy officer's 17 until the grants awaiting review
    # were counted with the oldest of them.)
    [("frontdesk", 12), ("clinician", 12), ("analyst", 13), ("privacy", 16), ("admin", 14)],
)
def test_home_pages_stay_within_their_statements(client_for, staff, persona, most_statements):
    waiting = PatientFactory(first_name="Fakewaiting")
    AppointmentFactory(clinician=staff["clinician"], patient=waiting)
    if persona == "analyst":
        refresh()
    cost = measure(client_for(staff[persona]), "get", reverse("home"))
    assert len(cost.statements) <= most_statements, show(cost)


def test_the_mfa_gate_asks_nothing_the_users_load_did_not(client_for, staff, patient):
    """A clinician (no code required) is not verified, so the gate asks on every request
    whether they have a device: the user's load answers it in its own statement."""
    client = client_for(staff["clinician"], verified=False)
    url = reverse("patients:detail", kwargs={"patient_id": patient.pk})
    cost = measure(client, "get", url)
    devices = [sql for sql in cost.statements if "otp_totp_totpdevice" in sql]
    assert len(devices) == 1, show(cost)
    assert 'FROM "auth_user"' in devices[0], show(cost)


def test_templates_are_compiled_once_per_process():
    """Django's cached template loader (the default when no loaders are listed, DEBUG or not):
    each template is read and compiled once per worker, not on every request."""
    from django.template import engines

    loaders = engines["django"].engine.loaders
    assert [loader[0] if isinstance(loader, tuple) else loader for loader in loaders] == [
        "django.template.loaders.cached.Loader"
    ]


def test_clicks_close_together_do_not_save_the_session_again(client_for, staff, patient):
    """The idle clock moves in steps of a sixtieth of the idle limit: a page opened seconds
    after the last one sends no session save (accounts/lifetime.py activity_step_seconds)."""
    client = client_for(staff["frontdesk"])
    url = reverse("patients:detail", kwargs={"patient_id": patient.pk})
    cost = measure(client, "get", url)
    assert not [sql for sql in cost.statements if "clinic_session_save" in sql], show(cost)


@pytest.mark.parametrize("persona", ["privacy", "admin"])
def test_a_verified_users_pages_never_decrypt_their_totp_key(client_for, staff, persona):
    """django-otp loads the session's device on every request of a verified user; the clinic's
    middleware defers its key (accounts/mfa.py VerifiedDeviceMiddleware), so no page decrypts
    or holds the TOTP secret; only code verification reads it."""
    client = client_for(staff[persona])
    cost = measure(client, "get", reverse("home"))
    assert "otp_totp_totpdevice.key" not in cost.decryptions, cost.decryptions
    device = [sql for sql in cost.statements if 'SELECT "otp_totp_totpdevice"."id"' in sql]
    assert len(device) == 1, show(cost)  # the session's device, loaded once
    assert '"otp_totp_totpdevice"."key"' not in device[0], show(cost)


def appends(cost: Cost) -> list[str]:
    return [sql for sql in cost.statements if "append_access_event" in sql]


@pytest.mark.parametrize("per_clinician", [1, 4])
def test_day_view_appends_its_patients_events_in_one_statement(client_for, staff, per_clinician):
    """However many patients a page shows, their `appointments_listed` events are one
    statement (clinic/access_log: the request's held events, batched); before the batch, each
    was a statement of its own (1,250 on the day view of 50 clinicians)."""
    for clinician in (staff["clinician"], staff["clinician2"]):
        for hour in range(per_clinician):
            AppointmentFactory(
                clinician=clinician, starts_at=clinic_moment(FUTURE_MONDAY, 9 + hour)
            )
    url = f"{reverse('scheduling:day')}?date={FUTURE_MONDAY}"
    cost = measure(client_for(staff["frontdesk"]), "get", url)
    [append] = appends(cost)
    assert "append_access_events(" in append
    # The clinicians of the day (one page), their appointments, working hours and time off.
    assert len(cost.statements) <= FIXED + 4, show(cost)
    # Three values a patient shown (name and MRN), nothing else.
    assert cost.decrypted == 3 * 2 * per_clinician, cost.decryptions


def test_search_appends_every_patient_found_in_one_statement(client_for, staff):
    for _ in range(3):
        PatientFactory(last_name="Fakesame")
    form = {"mode": "last_name_dob", "last_name": "Fakesame", "date_of_birth": "1980-04-30"}
    cost = measure(client_for(staff["frontdesk"]), "post", reverse("patients:search"), form)
    assert len(appends(cost)) == 1, show(cost)
    assert cost.decrypted >= 3 * 3  # three patients found and shown


def test_slot_search_reads_each_choice_list_once(client_for, staff, patient):
    """The booking page checks the search sent and shows it again from one read of the
    clinicians and one of the appointment types (clinic/choice_fields.py; Django's
    ModelChoiceField reads each twice), and the clinician's and the patient's appointments
    are one statement (scheduling/slots.py)."""
    WorkingHoursFactory(clinician=staff["clinician"])  # 12 slots of 15 minutes: one week read
    search = {
        "clinician": staff["clinician"].pk,
        "appointment_type": AppointmentTypeFactory(name="Fake quarter", default_minutes=15).pk,
        "from_date": FUTURE_MONDAY.isoformat(),
    }
    url = reverse("scheduling:book", kwargs={"patient_id": patient.pk})
    cost = measure(client_for(staff["frontdesk"]), "get", url, search)
    names = '"auth_user"."first_name", "auth_user"."last_name" FROM "auth_user" INNER JOIN'
    clinicians = [sql for sql in cost.statements if names in sql]
    types = [sql for sql in cost.statements if 'FROM "appointment_types"' in sql]
    appointments = [sql for sql in cost.statements if 'FROM "appointments"' in sql]
    assert (len(clinicians), len(types), len(appointments)) == (1, 1, 1), show(cost)
    # The patient, the two choice lists, the clinician's time off and extra sessions, the
    # appointments, the working hours, the patient header's restrictions (measured: 17, the
    # session not saved again).
    assert len(cost.statements) <= FIXED + 6, show(cost)


def planned_rows(cursor, query: str) -> float:
    cursor.execute(f"EXPLAIN (FORMAT JSON) {query}")
    return cursor.fetchone()[0][0]["Plan"]["Plan Rows"]


@pytest.mark.parametrize("persona", ["frontdesk", "clinician"])
def test_the_planner_counts_colleagues_as_most_of_the_users(staff, persona):
    """A page joining auth_user (a visit's provider: the visit list, the chart's last visits)
    is planned from the planner's guess of how many users a signed-in role sees. The colleague
    policy asked `(SELECT clinic_staff_role()) IN (...)`, which the planner guessed keeps one
    row in forty: it then drove the join from the users and read each provider's every visit
    through the provider index, 4.5 ms against 0.2 ms for one patient's last visits at the
    benchmark's scale (docs/benchmarks.md). As one boolean sub-select it counts as one row in
    two; the owner (no policy) sees the table's own estimate."""
    query = "SELECT id FROM auth_user"
    with connections["owner"].cursor() as cursor:
        everyone = planned_rows(cursor, query)
    with request_cursor(staff[persona]) as cursor:
        seen = planned_rows(cursor, query)
    assert seen >= 0.4 * everyone, (seen, everyone)


def test_the_clinicians_rights_facts_initialise_no_per_row_rule(staff, patient):
    """Every clinician's patient page asks whether the patient has restrictions, confidential
    communications, amendments or denied requests (rights/patient_facts.py). The tables' care-team
    rule is asked through `clinic_clinician_may_see()`, per row of which there are few or none:
    written out, it was three sub-plans per table that PostgreSQL initialised on every page
    (0.70 ms against 0.35 ms for the statement, docs/benchmarks.md)."""
    statement = patient_facts._statement(roles.CLINICIAN)
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(f"EXPLAIN (COSTS OFF) {statement.sql}", statement.params(patient.pk))
        plan = [row[0] for row in cursor.fetchall()]
    assert not [line for line in plan if "SubPlan" in line], "\n".join(plan)
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(statement.sql, statement.params(patient.pk))
        assert cursor.fetchone() == (False, False, False, False)


def test_the_chart_patients_statement_initialises_no_per_row_rule(staff, patient):
    """Every chart page reads the patient with the "no known allergies" flag (chart/access.py).
    `chart_allergy_reviews` holds one row per patient at most, so its care-team rule is asked
    through `clinic_clinician_may_see()`: written out, it was three sub-plans initialised on
    every chart page (the statement took 0.87 ms, 0.50 ms since; docs/benchmarks.md)."""
    sql, params = chart_patient_query(patient.pk).query.sql_with_params()
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute(f"EXPLAIN (COSTS OFF) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    rule_tables = (" on care_team ", " on appointments ", " on break_glass_grants ")
    assert not [line for line in plan if any(t in line + " " for t in rule_tables)], "\n".join(plan)
