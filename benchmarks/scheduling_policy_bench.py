"""Scheduling at size, the measures issue 17 had left (docs/benchmarks.md, "Scheduling: care
team, flag probe, rollups (method)"), each beside a baseline of the same run and each checked
(the same rows on both sides, not empty) before it counts. Data: benchmarks/
scheduling_policy_data.py on top of the year of appointments.

4. Care team by appointment in row-level security: the bench clinician's gated queries for a
   patient on their team only through today's appointment (one patient's visits; the chart's
   gate, the patient's row with the may-see column), on the web login switched to
   clinic_clinician with the verified identity, vs the same query as the owner with the
   policy's condition written out (staff id as a parameter); EXPLAIN of the RLS side.
5. The privacy flag "charts viewed outside the care team" (privacy/selectors.py), whose
   appointment probe leaves out a view of a patient booked with the clinician that day: as the
   privacy officer under RLS vs the owner, and the owner without the appointment probe (the
   probe's own cost; more flags, checked).
6. The analyst's appointment rollups: one refresh of each (as analytics/refresh.py, after the
   load and again with nothing changed) vs its defining query alone; then the analyst's
   dashboard query (analytics_appointment_panels, as clinic_analyst) vs the same counts
   aggregated from appointments as the owner.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.utils import timezone

from clinic import roles

VISITS = (
    "SELECT record_id, provider_id, diagnosis_code, visit_date FROM clinical_records"
    " WHERE patient_id = %(patient)s{extra} ORDER BY visit_date DESC, record_id"
)
CHART_GATE = "SELECT patient_id, {may_see} FROM patient_identities WHERE patient_id = %(patient)s"


@contextmanager
def as_staff(staff_id: int, role: str) -> Iterator:
    """The web login in one transaction, switched to `role` with a verified identity, as a
    request (benchmarks/inprocess.py row_level_security does the same)."""
    from benchmarks.access_log_append import web_connection
    from clinic.staff_identity import attribution, mint

    with web_connection() as web, web.transaction():
        web.execute(
            "SELECT set_config('role', %s, true), set_config('app.staff_token', %s, true), "
            "set_config('application_name', %s, true)",
            [role, mint(staff_id, role), attribution(staff_id, role)],
        )
        yield web


def owner_rows(query: str, params) -> list:
    with connections["owner"].cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def staff_user(username: str, group_name: str) -> int:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.db_manager("owner").get_or_create(
        username=username, defaults={"password": make_password(None)}
    )
    user.groups.add(Group.objects.using("owner").get_or_create(name=group_name)[0])
    return user.pk


def _written_out(condition: str) -> str:
    from clinic.staff_identity import STAFF_ID

    assert STAFF_ID in condition
    return condition.replace(STAFF_ID, "%(staff)s")


def care_team(data, repeats: int, say) -> tuple[dict, list[str]]:
    from benchmarks.inprocess import timed
    from records.db_grants import clinician_may_see

    visits_rls = VISITS.format(extra="")
    visits_owner = VISITS.format(
        extra=f" AND {_written_out(clinician_may_see('clinical_records.patient_id'))}"
    )
    gate = clinician_may_see("patient_identities.patient_id")
    gate_rls, gate_owner = (
        CHART_GATE.format(may_see=gate),
        CHART_GATE.format(may_see=_written_out(gate)),
    )
    patients = data.today_patients
    stranger_visits = "SELECT count(*) FROM clinical_records WHERE patient_id = %s"
    assert owner_rows(stranger_visits, [data.stranger])[0][0], "the stranger has no visits"
    results: dict = {}
    with as_staff(data.clinician_id, "clinic_clinician") as web:

        def params(number: int) -> dict:
            return {"patient": patients[number % len(patients)], "staff": data.clinician_id}

        for label, secure_sql, owner_sql in (
            ("one patient's visits", visits_rls, visits_owner),
            ("the chart's gate (patient row + may-see)", gate_rls, gate_owner),
        ):
            for number in range(len(patients)):
                seen = web.execute(secure_sql, params(number)).fetchall()
                assert seen, f"{label}: nothing under RLS for a patient booked today"
                assert sorted(map(str, seen)) == sorted(
                    map(str, owner_rows(owner_sql, params(number)))
                )
                if "gate" in label:
                    assert all(row[1] for row in seen), "the gate refused a booked patient"
            stranger = {"patient": data.stranger, "staff": data.clinician_id}
            hidden = web.execute(secure_sql, stranger).fetchall()
            assert sorted(map(str, hidden)) == sorted(map(str, owner_rows(owner_sql, stranger)))
            assert not hidden or not any(row[-1] for row in hidden), "a stranger was shown"

            def secure(number: int, sql=secure_sql) -> None:
                assert web.execute(sql, params(number)).fetchall()

            def owner(number: int, sql=owner_sql) -> None:
                assert owner_rows(sql, params(number))

            plan = [row[0] for row in web.execute("EXPLAIN " + secure_sql, params(0)).fetchall()]
            results[label] = {
                "secure": timed(secure, repeats),
                "baseline": timed(owner, repeats),
                "plan": plan,
                "initplans": sum("InitPlan" in line for line in plan),
                "subplans": sum("SubPlan" in line for line in plan),
            }
    lines = []
    for label, figures in results.items():
        say(f"  {label}: RLS p50 {figures['secure']['p50_ms']:.3f} ms p95 "
            f"{figures['secure']['p95_ms']:.3f} ms; owner, condition written out p50 "
            f"{figures['baseline']['p50_ms']:.3f} ms p95 {figures['baseline']['p95_ms']:.3f} ms;"
            f" InitPlans {figures['initplans']}, SubPlans {figures['subplans']}")  # fmt: skip
        for line in figures["plan"]:
            say(f"      {line}")
        assert figures["initplans"] >= 1, "the policy's sub-selects are not InitPlans"
        lines.append(_ratio(f"care team by appointment p95 ms, {label}", figures))
    return results, lines


def flag_probe(data, repeats: int, say) -> tuple[dict, list[str]]:
    from benchmarks.inprocess import timed
    from privacy.selectors import CHART_ACTIONS, FLAG_WINDOW_DAYS, OUTSIDE_CARE_TEAM_SQL

    probe = OUTSIDE_CARE_TEAM_SQL.index("  AND NOT EXISTS (\n      SELECT 1 FROM appointments")
    without_probe = (
        OUTSIDE_CARE_TEAM_SQL[:probe]
        + OUTSIDE_CARE_TEAM_SQL[OUTSIDE_CARE_TEAM_SQL.index("GROUP BY") :]
    )
    params = {"actions": list(CHART_ACTIONS), "zone": settings.TIME_ZONE,
              "since": timezone.now() - datetime.timedelta(days=FLAG_WINDOW_DAYS),
              "threshold": settings.PRIVACY_FLAG_OUTSIDE_CARE_TEAM}  # fmt: skip
    officer = staff_user("bench-privacy-officer", roles.PRIVACY_OFFICER)
    with as_staff(officer, "clinic_privacy_officer") as web:
        flags = set(web.execute(OUTSIDE_CARE_TEAM_SQL, params).fetchall())
        assert flags == data.expected_flags, (sorted(flags), sorted(data.expected_flags))
        assert set(owner_rows(OUTSIDE_CARE_TEAM_SQL, params)) == flags
        unprobed = set(owner_rows(without_probe, params))
        assert len(unprobed) > len(flags), "the probe left out no chart view"

        def secure(_number: int) -> None:
            assert len(web.execute(OUTSIDE_CARE_TEAM_SQL, params).fetchall()) == len(flags)

        plan = [row[0] for row in web.execute("EXPLAIN " + OUTSIDE_CARE_TEAM_SQL, params)]
        figures = {"secure": timed(secure, repeats)}
    figures["baseline"] = timed(lambda _n: owner_rows(OUTSIDE_CARE_TEAM_SQL, params), repeats)
    figures["no probe"] = timed(lambda _n: owner_rows(without_probe, params), repeats)
    say(f"  {data.chart_views:,} chart views in the window; flags {len(flags)} (without the "
        f"appointment probe {len(unprobed)})")  # fmt: skip
    for side in ("secure", "baseline", "no probe"):
        say(f"  {side:<9} p50 {figures[side]['p50_ms']:8.2f} ms  p95 "
            f"{figures[side]['p95_ms']:8.2f} ms  (n {figures[side]['n']})")  # fmt: skip
    for line in plan:
        if "appointments" in line or "Plan" in line or "access_log" in line:
            say(f"      {line.strip()}")
    return figures, [
        _ratio("privacy flag p95 ms (officer, RLS vs owner)", figures),
        _ratio("privacy flag p95 ms (owner, probe vs no probe)",
               {"secure": figures["baseline"], "baseline": figures["no probe"]}),
    ]  # fmt: skip


BASE_COUNTS = """
SELECT date_trunc('month', a.starts_at AT TIME ZONE %(zone)s)::date AS month, a.clinician_id,
       t.name, count(*) FILTER (WHERE a.status <> 'cancelled'),
       count(*) FILTER (WHERE a.status = 'no_show')
FROM appointments a JOIN appointment_types t ON t.id = a.appointment_type_id
WHERE a.starts_at < now() AND a.starts_at >= (%(first)s::timestamp AT TIME ZONE %(zone)s)
  AND a.starts_at < (%(after)s::timestamp AT TIME ZONE %(zone)s)
GROUP BY GROUPING SETS ((1), (2), (3))"""


def rollups(repeats: int, say) -> tuple[dict, list[str]]:
    from analytics.appointment_rollups import (
        APPOINTMENTS_ROLLUP,
        APPOINTMENTS_ROLLUP_SQL,
        AVAILABILITY_ROLLUP,
        AVAILABILITY_ROLLUP_SQL,
    )
    from analytics.db_grants import OWNER
    from analytics.forms import default_range
    from analytics.refresh import refresh_view
    from benchmarks.inprocess import timed

    figures: dict = {}
    lines = []
    for view, query in ((APPOINTMENTS_ROLLUP, APPOINTMENTS_ROLLUP_SQL),
                        (AVAILABILITY_ROLLUP, AVAILABILITY_ROLLUP_SQL)):  # fmt: skip
        first, again = refresh_view(view), refresh_view(view)
        with connections["owner"].cursor() as cursor:
            cursor.execute(f"SET ROLE {OWNER}")
            try:
                started = time.perf_counter()
                cursor.execute(query)
                defined = cursor.fetchall()
                alone = time.perf_counter() - started
                cursor.execute(f"SELECT * FROM {view}")  # noqa: S608 (a constant)
                stored = cursor.fetchall()
            finally:
                cursor.execute("RESET ROLE")
        # Months before this one: an appointment starting between the refresh and the query
        # changes only this month's row.
        assert _past(stored) and _past(stored) == _past(defined), view
        figures[view] = {"first": first, "again": again, "query": alone, "rows": len(stored)}
        say(f"  refresh {view}: {first * 1000:.0f} ms after the load, {again * 1000:.0f} ms "
            f"again (nothing changed); its query alone {alone * 1000:.0f} ms; "
            f"{len(stored):,} rows")  # fmt: skip
        label = f"refresh ms, {view} (again), query alone"
        lines.append(f"  {label:<52} {first * 1000:9.0f} ({again * 1000:.0f}) vs "
                     f"{alone * 1000:9.0f}")  # fmt: skip
    start, end = default_range()
    after = (end + datetime.timedelta(days=32)).replace(day=1)
    base_params = {"zone": settings.TIME_ZONE, "first": start, "after": after}
    kept_by_month = {
        row[0]: row[3] for row in owner_rows(BASE_COUNTS, base_params) if row[0] is not None
    }
    analyst = staff_user("bench-analyst", roles.ANALYST)
    panels = "SELECT * FROM analytics_appointment_panels(%s, %s)"
    with as_staff(analyst, "clinic_analyst") as web:
        rows = web.execute(panels, [start, end]).fetchall()
        shown = {row[2]: row[3] for row in rows
                 if row[0] == "appointments_months" and row[1] > 0 and row[4] == ""}  # fmt: skip
        complete = [month for month in kept_by_month if month < end and kept_by_month[month]]
        assert complete, "no complete month of appointments"
        for month in complete:
            assert shown.get(month.isoformat()) == kept_by_month[month], month

        def dashboard(_number: int) -> None:
            assert len(web.execute(panels, [start, end]).fetchall()) == len(rows)

        figures["dashboard"] = {"secure": timed(dashboard, repeats)}
    figures["dashboard"]["baseline"] = timed(
        lambda _n: owner_rows(BASE_COUNTS, base_params), repeats
    )
    say(f"  dashboard {start:%Y-%m} to {end:%Y-%m}: {len(rows)} cells, {len(complete)} complete "
        f"months checked against the appointments")  # fmt: skip
    for side, name in (("secure", "panels (analyst)"), ("baseline", "aggregate (owner)")):
        result = figures["dashboard"][side]
        say(f"  {name:<18} p50 {result['p50_ms']:8.2f} ms  p95 {result['p95_ms']:8.2f} ms  "
            f"(n {result['n']})")  # fmt: skip
    secure, base = (figures["dashboard"][side]["p50_ms"] for side in ("secure", "baseline"))
    label = "dashboard p50 ms: panels vs aggregate of appointments"
    lines.append(f"  {label:<52} {secure:9.2f} vs {base:9.2f}")
    return figures, lines


def _past(rows: list) -> list[str]:
    this_month = timezone.localdate().replace(day=1)
    return sorted(str(row) for row in rows if row[0] < this_month)


def _ratio(label: str, figures: dict) -> str:
    secure, base = figures["secure"]["p95_ms"], figures["baseline"]["p95_ms"]
    return f"  {label:<52} {secure:9.3f} vs {base:9.3f}  = {secure / base:5.2f}x"


def run(data, repeats: int, say: Callable[[str], None]) -> list[str]:
    say("\n4. care team by appointment under row-level security (clinician, web login) vs the "
        "owner with the condition written out")  # fmt: skip
    lines = care_team(data, repeats, say)[1]
    say("\n5. the privacy flag 'charts viewed outside the care team' and its appointment probe")
    lines += flag_probe(data, repeats, say)[1]
    say("\n6. the analyst's appointment rollups: refresh, then the dashboard's query")
    lines += rollups(repeats, say)[1]
    return lines
