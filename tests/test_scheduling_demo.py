"""Demo appointments (seed_demo): a fortnight for both demo clinicians, today with patients in
every state of the day whatever the hour, nothing added twice, reasons encrypted, and the
working-time rule the database applies holds for the demo schedule."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from patients import demo as patient_demo
from scheduling import demo
from scheduling.models import Appointment
from scheduling.slots import day_bounds

pytestmark = pytest.mark.usefixtures("clinic_db")


class FakeCommand:
    def __init__(self) -> None:
        self.stdout = StringIO()


@pytest.fixture
def seeded(staff):
    patient_demo.create_demo_patients(40, seed=5)
    cast = {"frontdesk": staff["frontdesk"], "clinician": staff["clinician"]}
    cast["clinician2"] = staff["clinician2"]
    count = demo.seed_appointments(FakeCommand(), cast, {"seed": 5})
    return count, cast


def test_a_fortnight_of_appointments_with_every_state_today(seeded, staff):
    count, _cast = seeded
    stored = Appointment.objects.using("owner")
    assert count == stored.count() > 100
    first = timezone.localtime(stored.order_by("starts_at").first().starts_at).date()
    last = timezone.localtime(stored.order_by("starts_at").last().starts_at).date()
    today = timezone.localdate()
    assert first >= today - datetime.timedelta(days=7) and last <= today + datetime.timedelta(7)
    todays = stored.filter(starts_at__range=day_bounds(today))
    for clinician in (staff["clinician"], staff["clinician2"]):
        states = set(todays.filter(clinician=clinician).values_list("status", flat=True))
        assert {"done", "seen", "in_room", "arrived", "no_show", "booked"} <= states
    # Coming days are not done yet (today's flow is placed by order, whatever the hour).
    tomorrow = day_bounds(today)[1]
    assert not stored.filter(starts_at__gte=tomorrow, status__in=["done", "arrived"]).exists()
    now = timezone.now()
    for appointment in stored.exclude(arrived_at=None):
        assert appointment.arrived_at <= now
    # Every live one lies in the clinician's working time, as the database's write check asks.
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM appointments WHERE status NOT IN ('cancelled', 'no_show')"
            " AND NOT appointment_in_working_time(clinician_id, starts_at, ends_at)"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT visit_reason FROM appointments LIMIT 1")
        assert "fake" not in cursor.fetchone()[0]


def test_seeding_twice_adds_nothing(seeded):
    _count, cast = seeded
    assert demo.seed_appointments(FakeCommand(), cast, {"seed": 5}) == 0


def test_the_demo_clinician_lands_on_a_day_with_patients(seeded, client_for, staff):
    body = client_for(staff["clinician"]).get(reverse("home")).content.decode()
    for label in ("Done", "Seen", "In room", "Arrived", "No-show", "Booked"):
        assert f'class="flow-state">{label}<' in body
    assert "waiting " in body
