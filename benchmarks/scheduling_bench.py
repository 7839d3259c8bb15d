"""Scheduling at size (issue 17 "Speed": day view <= 100 ms, free-slot search over 4 weeks <= 50
ms, booking <= 100 ms, p95 server time), secure vs baseline in one run:

    make bench-scheduling                                  # 1,000,000 patients
    .venv/bin/python -m benchmarks.run --scheduling --patients 200000 --scale tiny

- Data: benchmarks/scheduling_dataset.py (50 clinicians, 25 a day each for a year).
- Server time: each page through the whole Django request pipeline in this process (the test
  client, no network) as the bench front desk, on the first weekday after today (every
  clinician's day is full but for 7 free quarters, so the free time is computed too).
- Baseline: benchmarks/baseline_scheduling.py under the baseline settings (inprocess.
  baseline_overrides) with the owner as the default connection (owner_as_default).
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
TARGETS_MS = {"day view, all clinicians": 100.0, "free-slot search, 4 weeks": 50.0,
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

    from benchmarks import scheduling_dataset
    from benchmarks.inprocess import signed_in_client
    from benchmarks.run import ratio_line
    from scheduling.slots import free_slots

    desk = User.objects.using("owner").get(pk=schedule.front_desk_id)
    day = next_weekday(timezone.localdate())
    clinicians = schedule.clinician_ids
    results: dict[str, dict] = {}

    def day_view(side: str) -> Callable[[int], None]:
        client = signed_in_client(desk)

        def get(_number: int) -> None:
            response = client.get(DAY_URL[side].format(day))
            assert response.status_code == 200, response.status_code
            assert response.content.count(b"Free (") >= len(clinicians), "no free time shown"

        return get

    say(f"\n1. day view, all {len(clinicians)} clinicians, {day} (front desk)")
    results["day view, all clinicians"] = _sides(day_view, max(10, repeats // 10))

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

    lines = []
    for label, sides in results.items():
        for side in ("secure", "baseline"):
            say(f"  {label:<34} {side:<9} p50 {sides[side]['p50_ms']:8.2f} ms  "
                f"p95 {sides[side]['p95_ms']:8.2f} ms  (n {sides[side]['n']})")  # fmt: skip
        secure, base = sides["secure"]["p95_ms"], sides["baseline"]["p95_ms"]
        target = TARGETS_MS[label]
        lines.append(ratio_line(f"{label} p95 ms", secure, base, f"<= {target:.0f} ms",
                                secure <= target))  # fmt: skip
    return lines


def section(patients: int, distinct: int, repeats: int, say) -> list[str]:
    import time

    from benchmarks import scheduling_dataset

    started = time.perf_counter()
    schedule = scheduling_dataset.generate(patients, distinct, say)
    say(f"generation: {time.perf_counter() - started:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in schedule.seconds.items()) + ")")  # fmt: skip
    return run(schedule, repeats, say)
