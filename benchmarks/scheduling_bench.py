"""Scheduling at size (issue 17 "Speed": day view <= 100 ms, free-slot search over 4 weeks <= 50
ms, booking <= 100 ms, p95 server time), secure vs baseline in one run. The day view is measured
as the front desk sees it by default (the first page of clinicians, scheduling/day_pages.py) and,
for comparison, with all 50 clinicians on one page, batched and with one access-log statement per
event as before; then the access log's events/s one by one and batched, on the same database.

    make bench-scheduling                                  # 1,000,000 patients
    .venv/bin/python -m benchmarks.run --scheduling --patients 200000 --scale tiny

- Data: benchmarks/scheduling_dataset.py (50 clinicians, 25 a day each for a year).
- Server time: each page through the whole Django request pipeline in this process (the test
  client, no network) as the bench front desk, on the first weekday after today (every
  clinician's day is full but for 7 free quarters, so the free time is computed too).
- Baseline: benchmarks/baseline_scheduling.py under the baseline settings (inprocess.
  baseline_overrides) with the owner as the default connection (owner_as_default).
- Then sections 4-6 (benchmarks/scheduling_policy_bench.py): the care-team policy, the privacy
  flag's appointment probe, the appointment rollups' refresh and the analyst's dashboard query.
Every response is checked (status, content) before it counts.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections
from django.utils import timezone

DAY_URL = {"secure": "/scheduling/day/?date={}", "baseline": "/baseline/scheduling/day/?date={}"}
BOOK_URL = {
    "secure": "/scheduling/patients/{}/book/",
    "baseline": "/baseline/scheduling/patients/{}/book/",
}
TARGETS_MS = {"day view, default page": 100.0, "day view, all clinicians": 100.0,
              "free-slot search, 4 weeks": 50.0,
              "booking (POST, constraint check)": 100.0}  # fmt: skip


@contextmanager
def owner_as_default() -> Iterator[None]:
    """The default alias logs in as the owner (benchmarks/baseline_settings.py's DATABASES)."""
    web = connections["default"]
    saved = dict(web.settings_dict)
    web.close()
    web.settings_dict.update(connections["owner"].settings_dict)
    try:
        yield
    finally:
        web.close()
        web.settings_dict.clear()
        web.settings_dict.update(saved)


def next_weekday(after: datetime.date) -> datetime.date:
    day = after + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def _sides(make: Callable[[str], Callable[[int], None]], count: int) -> dict[str, dict]:
    from benchmarks.inprocess import baseline_overrides, timed

    result = {"secure": timed(make("secure"), count)}
    with baseline_overrides(), owner_as_default():
        result["baseline"] = timed(make("baseline"), count)
    return result


def run(schedule, repeats: int, say) -> list[str]:
    from django.contrib.auth.models import User

    from benchmarks import access_log_append, scheduling_dataset
    from benchmarks.inprocess import signed_in_client, timed
    from benchmarks.run import ratio_line
    from clinic.access_log.chain import verify_chain
    from scheduling import day_pages
    from scheduling.slots import free_slots

    desk = User.objects.using("owner").get(pk=schedule.front_desk_id)
    day = next_weekday(timezone.localdate())
    clinicians = schedule.clinician_ids
    results: dict[str, dict] = {}
    statements: dict[str, int] = {}
    appends: dict[int, dict[str, float]] = {}

    def day_view(side: str, everyone: bool = False) -> Callable[[int], None]:
        client = signed_in_client(desk)
        columns = len(clinicians) if everyone else day_pages.PAGE_SIZE

        def get(_number: int) -> None:
            response = client.get(DAY_URL[side].format(day))
            assert response.status_code == 200, response.status_code
            assert response.content.count(b'class="card day-column"') == columns, "columns"
            assert response.content.count(b"Free (") >= columns, "no free time shown"

        return get

    say(f"\n1. day view, the front desk's default page ({day_pages.PAGE_SIZE} of "
        f"{len(clinicians)} clinicians), {day}")  # fmt: skip
    results["day view, default page"] = _sides(day_view, repeats)
    statements["day view, default page"] = _statements(DAY_URL["secure"].format(day), desk)
    with every_clinician_on_one_page():
        say(f"\n1b. day view, all {len(clinicians)} clinicians on one page (for comparison)")
        count = max(10, repeats // 10)
        results["day view, all clinicians"] = _sides(lambda side: day_view(side, True), count)
        statements["day view, all clinicians"] = _statements(DAY_URL["secure"].format(day), desk)
        with one_append_per_event():
            say("\n1c. the same, each event appended by its own statement (before the batch)")
            before = {"secure": timed(day_view("secure", True), count)}
            statements["day view, all clinicians, one append per event"] = _statements(
                DAY_URL["secure"].format(day), desk
            )
        say_sides(say, "day view, all, one append per event", before, ("secure",))

    say("\n1d. the access log: one transaction of N events, one statement each vs one batch")
    for events in (day_pages.PAGE_SIZE * 25, len(clinicians) * 25):
        rates = access_log_append.single_vs_batched(desk.pk, "clinic_front_desk", events)
        appends[events] = rates
        gain = rates["batched"] / rates["single"]
        say(f"  {events:>5} events: {rates['single']:8.0f} events/s one by one, "
            f"{rates['batched']:8.0f} events/s batched ({gain:.1f}x)")  # fmt: skip
    chain = verify_chain(using="owner")
    say(f"  chain {'intact' if chain.ok else 'BROKEN'}: {chain.rows_checked} rows verified")
    assert chain.ok, chain.problem

    fresh = scheduling_dataset.free_patients(4 * repeats + 40, schedule.appointments,
                                             schedule.patients)  # fmt: skip
    patients = itertools.cycle(fresh[: 2 * repeats + 20])

    def search(side: str) -> Callable[[int], None]:
        client = signed_in_client(desk)

        def get(number: int) -> None:
            response = client.get(
                BOOK_URL[side].format(next(patients)),
                {"clinician": clinicians[number % len(clinicians)],
                 "appointment_type": schedule.type_id, "from_date": day.isoformat()},
            )  # fmt: skip
            assert response.status_code == 200, response.status_code
            assert response.content.count(b'name="starts_at"') == 12, "not 12 free times"

        return get

    say("\n2. free-slot search, 4 weeks from that day (GET the booking page, 12 times shown)")
    results["free-slot search, 4 weeks"] = _sides(search, repeats)

    with owner_as_default():
        plan = {
            clinician: iter(free_slots(clinician_id=clinician, minutes=15, first_day=day,
                                       days=28, now=timezone.now()))
            for clinician in clinicians
        }  # fmt: skip
    bookers = itertools.count()
    new_patients = iter(fresh[2 * repeats + 20 :])

    def booking(side: str) -> Callable[[int], None]:
        client = signed_in_client(desk)

        def post(_number: int) -> None:
            clinician = clinicians[next(bookers) % len(clinicians)]
            slot = next(plan[clinician])
            response = client.post(
                BOOK_URL[side].format(next(new_patients)),
                {"clinician": clinician, "appointment_type": schedule.type_id,
                 "from_date": day.isoformat(), "starts_at": slot.value,
                 "visit_reason": "Fake reason: bench booking"},
            )  # fmt: skip
            assert response.status_code == 302, response.status_code

        return post

    say("\n3. booking (POST the booking page: the slots again, the insert, the constraints)")
    results["booking (POST, constraint check)"] = _sides(booking, repeats)

    from scheduling.needs_new_time import HORIZON_WEEKS

    def home(_side: str) -> Callable[[int], None]:
        client = signed_in_client(desk)

        def get(_number: int) -> None:
            response = client.get("/")
            assert response.status_code == 200, response.status_code
            assert b"Appointments to re-arrange" in response.content, "no link to the list"

        return get

    say(
        f"\n4. the front desk's home page (today's figures and lists; it links the list of "
        f"bookings to re-arrange in the next {HORIZON_WEEKS} weeks, which it no longer counts)"
    )
    count = max(10, repeats // 10)
    front_desk_home = timed(home("secure"), count)
    say_sides(say, "front desk home", {"secure": front_desk_home}, ("secure",))
    with owner_as_default():
        booked = _booked_in_horizon(HORIZON_WEEKS)
    say(f"  booked appointments in the next {HORIZON_WEEKS} weeks: {booked:,}")

    def rearrange_list(_side: str) -> Callable[[int], None]:
        client = signed_in_client(desk)

        def get(_number: int) -> None:
            response = client.get("/scheduling/re-arrange/")
            assert response.status_code == 200, response.status_code

        return get

    say("\n4b. the list 'Appointments to re-arrange' (the rule, behind the schedule-version "
        "pre-filter): every booking checked against the current schedule, then after time off "
        "is added for one clinician (their bookings' versions stale)")  # fmt: skip
    list_fresh = timed(rearrange_list("secure"), 5, warmup=1)
    say_sides(say, "re-arrange list, all current", {"secure": list_fresh}, ("secure",))
    _time_off_for_one(clinicians[0], day)
    list_stale = timed(rearrange_list("secure"), 5, warmup=1)
    say_sides(say, "re-arrange list, one stale", {"secure": list_stale}, ("secure",))

    lines = []
    for label, sides in results.items():
        say_sides(say, label, sides)
        secure, base = sides["secure"]["p95_ms"], sides["baseline"]["p95_ms"]
        target = TARGETS_MS[label]
        lines.append(ratio_line(f"{label} p95 ms", secure, base, f"<= {target:.0f} ms",
                                secure <= target))  # fmt: skip
    lines.append(
        f"  {'front desk home p50 / p95 ms (secure)':<52} {front_desk_home['p50_ms']:9.2f} / "
        f"{front_desk_home['p95_ms']:.2f} ({booked:,} booked in {HORIZON_WEEKS} weeks; "
        f"target <= 100 ms p95: {'met' if front_desk_home['p95_ms'] <= 100 else 'MISSED'})"
    )
    lines.append(
        f"  {'re-arrange list p50 ms: all current, one clinician stale':<52} "
        f"{list_fresh['p50_ms']:9.2f} vs {list_stale['p50_ms']:9.2f}"
    )
    for label, counted in statements.items():
        lines.append(f"  {'statements: ' + label:<52} {counted:9d}")
    for events, rates in appends.items():
        lines.append(f"  {f'access log, {events} events: events/s one by one, batched':<52} "
                     f"{rates['single']:9.0f} vs {rates['batched']:9.0f}")  # fmt: skip
    return lines


def _time_off_for_one(clinician_id: int, day: datetime.date) -> None:
    """Time off for one clinician on `day`, 10:00-11:00 (the owner writes; the schedule
    version trigger bumps the clinician's version, as for any writer)."""
    from scheduling.models import ScheduleException

    starts = datetime.datetime.combine(
        day, datetime.time(10), tzinfo=timezone.get_current_timezone()
    )
    ScheduleException.objects.using("owner").create(
        clinician_id=clinician_id, kind="time_off", starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=1), note="Fake note: bench time off",
    )  # fmt: skip


def _booked_in_horizon(weeks: int) -> int:
    from django.db import connections

    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM appointments WHERE status = 'booked' AND starts_at > now() "
            "AND starts_at < now() + make_interval(weeks => %s)",
            [weeks],
        )
        return int(cursor.fetchone()[0])


def say_sides(say, label: str, sides: dict, names=("secure", "baseline")) -> None:
    for side in names:
        say(f"  {label:<34} {side:<9} p50 {sides[side]['p50_ms']:8.2f} ms  "
            f"p95 {sides[side]['p95_ms']:8.2f} ms  (n {sides[side]['n']})")  # fmt: skip


def _statements(url: str, desk) -> int:
    """Statements one request of `url` sends on the web connection (after a warm-up)."""
    from django.test.utils import CaptureQueriesContext

    from benchmarks.inprocess import signed_in_client

    client = signed_in_client(desk)
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connections["default"]) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


@contextmanager
def every_clinician_on_one_page() -> Iterator[None]:
    """The day view of all clinicians at once, as it was before paging (comparison only)."""
    from scheduling import day_pages

    saved = day_pages.PAGE_SIZE
    day_pages.PAGE_SIZE = 10_000
    try:
        yield
    finally:
        day_pages.PAGE_SIZE = saved


@contextmanager
def one_append_per_event() -> Iterator[None]:
    """A request's held events written one statement each, as before the batched append
    (comparison only; the same events, the same chain)."""
    from clinic import access_log

    saved = access_log.write_held_events

    def one_by_one(request) -> None:
        rows = getattr(request, access_log.QUEUE_ATTR, None) or []
        setattr(request, access_log.QUEUE_ATTR, None)
        with connections["default"].cursor() as cursor:
            for row in rows:
                cursor.execute(access_log.APPEND_SQL, row)

    access_log.write_held_events = one_by_one  # type: ignore[assignment]
    try:
        yield
    finally:
        access_log.write_held_events = saved  # type: ignore[assignment]


def section(patients: int, distinct: int, repeats: int, say) -> list[str]:
    import time

    from benchmarks import scheduling_dataset, scheduling_policy_bench, scheduling_policy_data

    started = time.perf_counter()
    schedule = scheduling_dataset.generate(patients, distinct, say)
    say(f"generation: {time.perf_counter() - started:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in schedule.seconds.items()) + ")")  # fmt: skip
    # Before any page: its chart views go into the access log ahead of the pages' events.
    policy = scheduling_policy_data.prepare(schedule, say)
    lines = run(schedule, repeats, say)
    return lines + scheduling_policy_bench.run(policy, repeats, say)
