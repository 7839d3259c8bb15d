"""Demo visits and care teams: real codes, encrypted notes, deterministic and idempotent."""

from __future__ import annotations

import datetime
import io
import random
from collections import Counter

import pytest
from django.conf import settings
from django.core.management.base import OutputWrapper
from django.utils import timezone

from localdb import cluster
from records import demo, icd10
from records.demo import seed_visits_and_care_teams
from records.models import CareTeamMember, ClinicalRecord
from tests.conftest import TEST_DATABASE
from tests.factories import PatientFactory
from tests.records_support import OWNER, raw_record_row

pytestmark = pytest.mark.usefixtures("clinic_db")


class Command:
    def __init__(self):
        self.stdout = OutputWrapper(io.StringIO())


def snapshot():
    visits = ClinicalRecord.objects.using(OWNER).order_by("record_id")
    team = CareTeamMember.objects.using(OWNER).order_by("patient_id", "staff_id")
    return (
        [
            (v.record_id, v.patient_id, v.provider_id, v.diagnosis_code, v.visit_date, v.notes)
            for v in visits
        ],
        [(m.patient_id, m.staff_id, m.starts_on, m.reason) for m in team],
    )


def test_demo_visits_are_valid_deterministic_and_idempotent(staff):
    for number in range(6):
        PatientFactory(first_name=f"Demo{number}", ssn=f"900-00-{number + 10:04d}")
    options = {"seed": 7, "visits_per_patient": 2}
    command = Command()
    stats = seed_visits_and_care_teams(command, staff, options)
    assert stats["patients"] == 6
    assert "rows/s" in command.stdout._out.getvalue()
    first = snapshot()
    visits, team = first
    # Two on average: every patient at least one, nobody dozens.
    per_patient = Counter(v[1] for v in visits)
    assert len(per_patient) == 6 and max(per_patient.values()) < 20
    assert {v[2] for v in visits} <= {staff["clinician"].pk, staff["clinician2"].pk}
    assert all(icd10.is_valid_diagnosis(v[3]) for v in visits)
    today = timezone.localdate()
    assert all(today - datetime.timedelta(days=25 * 31) <= v[4] <= today for v in visits)
    assert all(v[4].weekday() < 5 for v in visits)
    assert all(v[5].startswith("Demo note (fake data).") for v in visits)
    assert raw_record_row(visits[0][0])[2].startswith("v1:")
    assert {m[0] for m in team} == {v[1] for v in visits}
    assert {m[1] for m in team} <= {staff["clinician"].pk, staff["clinician2"].pk}

    assert seed_visits_and_care_teams(Command(), staff, options)["rows"] == 0
    assert snapshot() == first

    # Same seed, same data: delete and seed again. Signed notes are kept even against the owner
    # (docs/notes.md), so they go as the superuser with triggers off, as the fixtures' cleanup.
    with cluster.superuser_connect(TEST_DATABASE) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM clinical_records")
    CareTeamMember.objects.using(OWNER).all().delete()
    seed_visits_and_care_teams(Command(), staff, options)
    again_visits, again_team = snapshot()
    assert again_visits == visits
    assert again_team == team


def test_demo_visits_are_signed_once_old_enough_but_a_few(staff):
    """The demo looks like a clinic at work: recent notes unsigned, older ones signed by their
    provider, a few old ones still unsigned for the unsigned-notes list (docs/notes.md)."""
    for _ in range(40):
        PatientFactory()
    options = {"seed": 3, "visits_per_patient": 10}
    seed_visits_and_care_teams(Command(), staff, options)
    overdue_before = timezone.localdate() - datetime.timedelta(days=settings.UNSIGNED_NOTE_DAYS)
    visits = list(ClinicalRecord.objects.using(OWNER).all())
    old = [v for v in visits if v.visit_date < overdue_before]
    assert all(v.signed_at is None for v in visits if v.visit_date >= overdue_before)
    assert all(v.signed_by_id == v.provider_id for v in old if v.signed_at)
    unsigned_old = [v for v in old if v.signed_at is None]
    assert 0 < len(unsigned_old) < len(old) / 10


def test_demo_history_has_the_shapes_of_a_clinic():
    """Winter infections, autumn flu shots, a quiet August, growth, weekdays, rare chapters."""
    today = datetime.date(2026, 12, 15)
    history = demo.History(today, demo.demo_codes())
    rng = random.Random(11)
    earliest = history.months[0]
    days = [history.visit_date(rng, earliest) for _ in range(30000)]
    assert min(days) >= earliest and max(days) <= today
    assert all(day.weekday() < 5 for day in days)
    per_month = Counter(day.replace(day=1) for day in days)
    assert per_month[datetime.date(2026, 8, 1)] < per_month[datetime.date(2026, 9, 1)]
    assert per_month[datetime.date(2026, 10, 1)] > per_month[datetime.date(2025, 10, 1)]

    def share(codes: set[str], month: int) -> float:
        on = datetime.date(2026, month, 1)
        drawn = [history.code(rng, on) for _ in range(20000)]
        return sum(code in codes for code in drawn) / len(drawn)

    assert share(demo.WINTER_CODES, 1) > 2 * share(demo.WINTER_CODES, 7)
    assert share({demo.FLU_SHOT}, 10) > 5 * share({demo.FLU_SHOT}, 4)
    assert 0 < share(set(demo.RARE_CODES), 3) < 0.002


def test_demo_codes_are_checked_against_the_code_table(monkeypatch):
    monkeypatch.setattr(demo, "RARE_CODES", [*demo.RARE_CODES, "Q38"])  # a category, not billable
    with pytest.raises(ValueError, match="Q38"):
        demo.demo_codes()
