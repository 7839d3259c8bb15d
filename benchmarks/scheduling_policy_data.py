"""What the scheduling benchmark's policy, flag and rollup measures read, added to the year of
appointments (benchmarks/scheduling_dataset.py) before any page is measured (benchmark-only).

- Care teams: the first half of the patients (bench_numbered n < patients / 2), each on one
  clinician's team (clinicians in turn), and two visits each (clinical_records), so the
  policy's care-team branch probes a filled index and the visits table has some size.
- Today's patients of the bench clinician (the first provider) through an appointment only:
  TODAY_PATIENTS patients from the second half (no care-team row, no grant, no appointment in
  the week), each booked with them today at 17:00 and after (clinic time; the dataset books
  08:00-17:00 only, so no overlap on any day of the week), with two visits each.
- A week of chart views by clinicians in the access log, with a valid chain (hashed here as the
  append function hashes), before any event the benchmark appends: each clinician opens the
  chart of each patient they saw (a `done` appointment of the last 6 days, 5 minutes after it
  started), and of some patients with no relationship (no care team, no appointment in the
  week): FLAGGED_OUTSIDE distinct ones for every third clinician (over the privacy flag's
  threshold), UNFLAGGED_OUTSIDE for the others. `expected_flags` is what the flag must say.
Loaded as the cluster superuser (session_replication_role = replica: no write-check triggers;
the exclusion constraints and CHECK constraints still hold).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from clinic.encryption import encrypt_value

TODAY_PATIENTS = 24  # 17:00-23:00 clinic time, a quarter hour each
OUTSIDE_MARGIN = 2  # over / under the flag's threshold


@dataclass(frozen=True)
class PolicyData:
    clinician_id: int
    today_patients: list[uuid.UUID]  # on the bench clinician's team today through a booking only
    outside_patients: list[uuid.UUID]  # on nobody's team, no appointment this week
    stranger: uuid.UUID  # another clinician's team, visits, no appointment with the bench one
    expected_flags: set[tuple[int, int, int]]  # (staff, chart views, distinct patients)
    chart_views: int


def _threshold() -> int:
    return int(settings.PRIVACY_FLAG_OUTSIDE_CARE_TEAM)


def prepare(schedule, say) -> PolicyData:
    from analytics.generate import code_sample
    from localdb import cluster

    clinicians = schedule.clinician_ids
    half = schedule.patients // 2
    codes = code_sample(2026)[:20]
    notes = encrypt_value("", "clinical_records.notes")
    reason = encrypt_value("", "care_team.reason")
    dbname = connections["owner"].settings_dict["NAME"]
    with cluster.superuser_connect(dbname) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO care_team (staff_id, patient_id, starts_on, ends_on, reason, created_at)"
            " SELECT (%s::integer[])[1 + n %% %s], patient_id, clinic_today() - 365, NULL, %s,"
            " now() FROM bench_numbered WHERE n < %s",
            [clinicians, len(clinicians), reason, half],
        )
        # Second-half patients with no appointment from 8 days back to 2 days ahead.
        spare = [
            row[0]
            for row in conn.execute(
                "SELECT b.patient_id FROM bench_numbered b WHERE b.n >= %s AND NOT EXISTS ("
                " SELECT 1 FROM appointments a WHERE a.patient_id = b.patient_id"
                " AND a.starts_at > now() - interval '8 days'"
                " AND a.starts_at < now() + interval '2 days') ORDER BY b.n LIMIT %s",
                [half, TODAY_PATIENTS + len(clinicians) * (_threshold() + OUTSIDE_MARGIN)],
            ).fetchall()
        ]
        today, outside = spare[:TODAY_PATIENTS], spare[TODAY_PATIENTS:]
        assert len(outside) >= len(clinicians) * (_threshold() + OUTSIDE_MARGIN), "too few"
        conn.execute(
            "INSERT INTO appointments (appointment_id, patient_id, clinician_id,"
            " appointment_type_id, starts_at, ends_at, status, cancel_reason, override_reason,"
            " visit_reason, booked_by_id, created_at, updated_at)"
            " SELECT gen_random_uuid(), p.id, %(clinician)s, %(type)s, s.at,"
            " s.at + interval '15 minutes', 'booked', '', '', %(reason)s, %(desk)s,"
            " now() - interval '1 day', now() - interval '1 day'"
            " FROM unnest(%(patients)s::uuid[]) WITH ORDINALITY p(id, q)"
            " CROSS JOIN LATERAL (SELECT clinic_day_starts(clinic_today()) + interval '17 hours'"
            " + (p.q - 1) * interval '15 minutes' AS at) s",
            {"clinician": clinicians[0], "type": schedule.type_id, "desk": schedule.front_desk_id,
             "reason": encrypt_value("Fake reason: bench visit", "appointments.visit_reason"),
             "patients": today},
        )  # fmt: skip
        conn.execute(
            "INSERT INTO clinical_records (record_id, patient_id, provider_id, diagnosis_code,"
            " notes, visit_date, version, created_at, updated_at)"
            " SELECT gen_random_uuid(), p.patient_id, %(provider)s,"
            " (%(codes)s::text[])[1 + (abs(hashtext(p.patient_id::text || v)) %% %(nc)s)],"
            " %(notes)s, clinic_today() - 30 * v, 1, now(), now()"
            " FROM (SELECT patient_id FROM bench_numbered WHERE n < %(half)s"
            "       UNION ALL SELECT unnest(%(today)s::uuid[])) p"
            " CROSS JOIN generate_series(1, 2) v",
            {"provider": clinicians[1], "codes": codes, "nc": len(codes), "notes": notes,
             "half": half, "today": today},
        )  # fmt: skip
        stranger = conn.execute(
            "SELECT b.patient_id FROM bench_numbered b WHERE b.n < %s AND b.n %% %s = 1"
            " AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = b.patient_id"
            " AND a.clinician_id = %s AND a.starts_at > now() - interval '2 days'"
            " AND a.starts_at < now() + interval '2 days') ORDER BY b.n LIMIT 1",
            [half, len(clinicians), clinicians[0]],
        ).fetchone()[0]
        views, expected = _chart_views(conn, clinicians, outside)
        conn.execute("SET session_replication_role = origin")
        for table in ("care_team", "clinical_records", "appointments", "access_log"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    say(f"policy data: {half:,} patients on care teams, {TODAY_PATIENTS} booked today only, "
        f"{views:,} chart views in the week's access log")  # fmt: skip
    return PolicyData(clinicians[0], today, outside, stranger, expected, views)


def _chart_views(conn, clinicians: list[int], outside: list[uuid.UUID]):
    """The week's chart views, appended with a valid chain; (rows, expected flags)."""
    now = conn.execute("SELECT now()").fetchone()[0]
    seen = conn.execute(
        "SELECT clinician_id, patient_id, starts_at + interval '5 minutes' FROM appointments"
        " WHERE status = 'done' AND starts_at > now() - interval '6 days'"
        " AND starts_at < now() - interval '1 hour' AND clinician_id = ANY(%s)",
        [clinicians],
    ).fetchall()
    events = [(at, staff, str(patient)) for staff, patient, at in seen]
    expected = set()
    spare = iter(outside)
    for number, staff in enumerate(clinicians):
        count = _threshold() + OUTSIDE_MARGIN if number % 3 == 0 else OUTSIDE_MARGIN + 1
        for k in range(count):
            at = now - datetime.timedelta(hours=2 + 3 * k, minutes=number)
            events.append((at, staff, str(next(spare))))
        if count >= _threshold():
            expected.add((staff, count, count))
    events.sort()
    _append(conn, events)
    return len(events), expected


def _append(conn, events: list[tuple[datetime.datetime, int, str]]) -> None:
    head = conn.execute("SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
    last_id, prev = head if head else (0, "0" * 64)
    columns = "id, occurred_at, staff_id, role, action, patient_id, object_id, client_ip, outcome"
    columns += ", reason, prev_hash, hash"
    with conn.cursor() as cursor, cursor.copy(f"COPY access_log ({columns}) FROM STDIN") as copy:
        for number, (at, staff, patient) in enumerate(events, start=1):
            row_id = last_id + number
            stamp = at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            content = f"{row_id}|{stamp}|{staff}|clinic_clinician|chart_viewed|{patient}|||ok|"
            digest = hashlib.sha256(f"{prev}|{content}".encode()).hexdigest()
            copy.write_row((row_id, f"{stamp}+00", staff, "clinic_clinician", "chart_viewed",
                            patient, "", None, "ok", "", prev, digest))  # fmt: skip
            prev = digest
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('public.access_log', 'id'), %s)",
        [last_id + len(events)],
    )
