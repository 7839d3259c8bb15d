"""What the analyst's role can read, tried with the attacker's SQL on a request's connection
(analytics/db_suppression.py, analytics/db_grants.py): every count is hidden, 0 or at least
11; complementary cells stop working a hidden count out from a total; the rollups and the
limited data set are out of reach, and nothing readable shares a patient key or a date finer
than a month with anything else; another group's request (or one before sign-in) that switches
to the analyst's role reads nothing."""

from __future__ import annotations

import itertools

import pytest
from django.db import DatabaseError, connections

from analytics.forms import default_range
from clinic import roles
from tests.analytics_helpers import refresh
from tests.db_helpers import in_request
from tests.factories import ClinicalRecordFactory, PatientFactory, this_month

pytestmark = pytest.mark.usefixtures("clinic_db")
ANALYST = roles.GROUP_ROLES[roles.ANALYST]
PANELS = "SELECT panel, place, shown, status FROM analytics_visit_panels(%s, %s, %s, %s)"
PATIENT_PANELS = "SELECT panel, place, shown, status FROM analytics_patient_panels()"
ROLLUPS = [
    "analytics_visits_rollup",
    "analytics_codes_rollup",
    "analytics_provider_codes_rollup",
    "analytics_patients_rollup",
    "clinical_records_analyst",
]
READABLE = {
    "analytics_icd10_chapters",
    "analytics_refresh_log",
    "analytics_providers",
    "analytics_visits_deidentified",
}


@pytest.fixture
def visits(staff):
    """Small cells everywhere: 5 + 20 visits this month, 3 patients in one state, 12 in another."""
    few = [PatientFactory(state="ZY", birth_year=1950) for _ in range(3)]
    many = [PatientFactory(state="ZZ") for _ in range(12)]
    month = this_month()
    ClinicalRecordFactory.create_batch(
        5, patient=few[0], provider=staff["clinician"], diagnosis_code="E119", visit_date=month
    )
    ClinicalRecordFactory.create_batch(
        20, patient=many[0], provider=staff["clinician2"], diagnosis_code="J069", visit_date=month
    )
    refresh()
    return staff


def filter_sets(staff) -> list[list]:
    start, end = default_range()
    month = this_month()
    providers = [None, staff["clinician"].pk, staff["clinician2"].pk]
    return [
        [first, end, chapter, provider]
        for first in (start, month)
        for chapter in ("", "4", "10")
        for provider in providers
    ]


def tables(rows) -> dict[str, tuple[tuple, list[tuple]]]:
    """(panel, place, shown, status) rows -> {panel: (total, cells)}."""
    out: dict[str, tuple[tuple, list[tuple]]] = {}
    for panel, place, shown, status in rows:
        total, cells = out.get(panel, ((None, ""), []))
        if place == 0:
            total = (shown, status)
        else:
            cells = [*cells, (shown, status)]
        out[panel] = (total, cells)
    return out


def everything_the_analyst_reads(staff) -> list[dict]:
    analyst = staff["analyst"]
    read = [tables(in_request(analyst, PANELS, params)) for params in filter_sets(staff)]
    return [*read, tables(in_request(analyst, PATIENT_PANELS))]


def test_every_count_the_analyst_reads_is_zero_eleven_or_more_or_hidden(visits):
    counts = [
        shown
        for read in everything_the_analyst_reads(visits)
        for total, cells in read.values()
        for shown, _status in [total, *cells]
    ]
    assert None in counts and 25 in counts  # small cells were there, and were hidden
    assert all(shown is None or shown == 0 or shown >= 11 for shown in counts)


def test_no_hidden_count_can_be_worked_out_from_a_total(visits):
    """Each table's total is known: every hidden small cell must still admit more than one
    value given what is shown, and the hidden cells must not add up to 1-10."""
    checked = 0
    for read in everything_the_analyst_reads(visits):
        for (total, _total_status), cells in read.values():
            hidden = [status for shown, status in cells if shown is None]
            if total is None or "primary" not in hidden:
                continue
            shown = [count for count, _status in cells if count is not None]
            hidden_sum = total - sum(shown)
            assert not 1 <= hidden_sum <= 10
            ceiling = min([c for c in shown if c > 0], default=hidden_sum)
            ranges = [range(1, 11) if s == "primary" else range(11, ceiling + 1) for s in hidden]
            consistent = [c for c in itertools.product(*ranges) if sum(c) == hidden_sum]
            for position, status in enumerate(hidden):
                if status == "primary":
                    assert len({combo[position] for combo in consistent}) > 1
            checked += 1
    assert checked  # the 5 beside the 20 (total 25) was among them


def test_the_five_beside_a_twenty_is_hidden_with_its_complement(visits):
    start, end = default_range()
    read = tables(in_request(visits["analyst"], PANELS, [start, end, "", None]))
    total, cells = read["providers"]
    assert total == (25, "")
    assert sorted(cells) == [(None, "complementary"), (None, "primary")]


@pytest.mark.parametrize("relation", ROLLUPS)
def test_the_analyst_reads_no_rollup_and_not_the_limited_data_set(visits, relation):
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(visits["analyst"], f"SELECT * FROM {relation}")  # noqa: S608


def test_the_analyst_may_call_only_the_panel_functions(visits):
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(visits["analyst"], "SELECT * FROM analytics_suppress(ARRAY[5, 20]::bigint[])")
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND has_table_privilege(%s, c.oid, 'SELECT') "
            "AND NOT has_table_privilege(%s, c.oid, 'SELECT')",  # beyond the sign-in tables
            [ANALYST, roles.SIGNED_IN_ROLE],
        )
        assert {name for (name,) in cursor.fetchall()} == READABLE
        cursor.execute(
            "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace "
            "AND p.proname LIKE 'analytics%%' AND has_function_privilege(%s, p.oid, 'EXECUTE')",
            [ANALYST],
        )
        assert sorted(name for (name,) in cursor.fetchall()) == [
            "analytics_appointment_panels",
            "analytics_patient_panels",
            "analytics_visit_panels",
        ]


def test_nothing_the_analyst_reads_shares_a_patient_key_or_a_date(visits):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
            "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            [sorted(READABLE)],
        )
        columns = cursor.fetchall()
    patient_keys = [(r, c) for r, c, _t in columns if "patient" in c or "record" in c]
    assert patient_keys == [("analytics_visits_deidentified", "patient_pseudonym")]
    dates = [(r, c) for r, c, t in columns if "date" in t or "time" in t]
    assert dates == [("analytics_refresh_log", "refreshed_at")]  # when the rollups were built
    # The pseudonym is in no other relation, and no join puts a dated visit beside it.
    pseudonyms = in_request(
        visits["analyst"], "SELECT DISTINCT patient_pseudonym FROM analytics_visits_deidentified"
    )
    assert len(pseudonyms) == 2
    for relation, column, _type in columns:
        if relation != "analytics_visits_deidentified":
            assert not in_request(
                visits["analyst"],
                f'SELECT 1 FROM {relation} WHERE "{column}"::text = ANY(%s)',  # noqa: S608
                [[p for (p,) in pseudonyms]],
            )


GATED = [
    "SELECT count(*) FROM analytics_providers",
    "SELECT count(*) FROM analytics_visits_deidentified",
    "SELECT count(*) FROM analytics_icd10_chapters",
    "SELECT count(*) FROM analytics_refresh_log",
    "SELECT count(*) FROM analytics_patient_panels()",
    "SELECT count(*) FROM analytics_visit_panels('2000-01-01', '2100-01-01', '', NULL)",
]


@pytest.mark.parametrize("statement", GATED)
def test_the_analyst_reads_its_own_relations(visits, statement):
    assert in_request(visits["analyst"], statement) != [(0,)]


@pytest.mark.parametrize("who", ["frontdesk", "clinician", "privacy", "admin", "outsider", None])
@pytest.mark.parametrize("statement", GATED)
def test_another_groups_request_switched_to_the_analyst_reads_nothing(visits, who, statement):
    user = visits[who] if who else None
    assert in_request(user, statement, switch_to=ANALYST) == [(0,)]


@pytest.mark.parametrize("who", ["clinician", None])
def test_no_error_message_carries_a_row_past_the_gate(visits, who):
    """A cast that fails on a value would print it in the error; the views are security
    barriers, so the gate has removed every row before the caller's condition sees one."""
    user = visits[who] if who else None
    leaks = [
        "SELECT count(*) FROM analytics_visits_deidentified "
        "WHERE (state || '/' || patient_pseudonym)::integer = 0",
        "SELECT count(*) FROM analytics_providers WHERE display_name::integer = 0",
    ]
    for statement in leaks:
        assert in_request(user, statement, switch_to=ANALYST) == [(0,)]


CODES = (
    "SELECT key, shown FROM analytics_visit_panels(%s, %s, %s, %s) WHERE panel = %s AND place > 0"
)


def test_top_codes_drop_a_code_that_would_reveal_the_rest_of_its_chapter(staff):
    """Codes with 11+ visits are listed, then "All other codes". E11.9 has 20 visits, but its
    chapter (4) has 25: listing it beside the chapter panel would tell the reader that the
    other chapter-4 codes have 5, so it is dropped into "All other codes". Chapter 9's two
    listed codes leave nothing (0) and stay; the rest row is the total less what is listed."""
    month = this_month()
    patient = PatientFactory()
    for code, count in (("E119", 20), ("E785", 5), ("J069", 30), ("I10", 12), ("I480", 15)):
        ClinicalRecordFactory.create_batch(
            count, patient=patient, provider=staff["clinician"], diagnosis_code=code,
            visit_date=month,
        )  # fmt: skip
    refresh()
    start, end = default_range()
    rows = in_request(staff["analyst"], CODES, [start, end, "", None, "codes"])
    assert dict(rows) == {"J069": 30, "I480": 15, "I10": 12, "other": 82 - 57}
    chapters = in_request(staff["analyst"], CODES, [start, end, "", None, "chapters"])
    assert dict(chapters)["4"] == 25  # the chapter that would have given E11.9's rest away
