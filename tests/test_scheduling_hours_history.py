"""Working-hours history: a weekly session is in force from `valid_from` to `valid_until` (the
clinic's days, both included; empty: open-ended), so new hours are a new row and the old one
ends. Booking checks the hours in force on the appointment's day (the database's
`appointment_in_working_time`, proven with the front desk's raw SQL), the free times and the
day view's free time offer only those, and the analyst's utilisation counts, for each past
day, the hours valid then. Mondays: 09:00-12:00 until the day before CHANGE (the Monday after
FUTURE_MONDAY), then 13:00-17:00."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse

from clinic.db_context import apply_context
from clinic.encryption import encrypt_value
from scheduling.slots import free_slots
from tests.analytics_helpers import refresh
from tests.db_helpers import in_request
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
    this_month,
)
from tests.test_analytics_appointments import panels

pytestmark = pytest.mark.usefixtures("clinic_db")
CHANGE = FUTURE_MONDAY + datetime.timedelta(days=7)
DAY_BEFORE = CHANGE - datetime.timedelta(days=1)


@pytest.fixture
def hours(staff):
    WorkingHoursFactory(clinician=staff["clinician"], valid_until=DAY_BEFORE)  # 09:00-12:00
    WorkingHoursFactory(clinician=staff["clinician"], starts_at=datetime.time(13),
                        ends_at=datetime.time(17), valid_from=CHANGE)  # fmt: skip
    return AppointmentTypeFactory()


INSERT = (
    "INSERT INTO appointments (appointment_id, patient_id, clinician_id, appointment_type_id,"
    " starts_at, ends_at, status, cancel_reason, visit_reason, booked_by_id, created_at,"
    " updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'booked', '', %s, %s, now(), now())"
    " RETURNING 1"
)


def book_sql(staff, kind, day: datetime.date, hour: int) -> list:
    start = clinic_moment(day, hour)
    return in_request(staff["frontdesk"], INSERT, [
        str(uuid.uuid4()), str(PatientFactory().pk), staff["clinician"].pk, kind.pk, start,
        start + datetime.timedelta(minutes=30),
        encrypt_value("Fake reason", "appointments.visit_reason"), staff["frontdesk"].pk,
    ])  # fmt: skip


def test_the_database_books_in_the_hours_in_force_that_day(staff, hours):
    assert book_sql(staff, hours, CHANGE, 13) == [(1,)]
    with pytest.raises(DatabaseError, match="outside the clinician's working time"):
        book_sql(staff, hours, CHANGE, 9)  # the old hours ended the day before
    assert book_sql(staff, hours, FUTURE_MONDAY, 9) == [(1,)]  # the old hours held then
    with pytest.raises(DatabaseError, match="outside the clinician's working time"):
        book_sql(staff, hours, FUTURE_MONDAY, 13)


def test_hours_end_no_earlier_than_they_start(staff):
    with (
        pytest.raises(IntegrityError, match="working_hours_validity"),
        transaction.atomic(using="owner"),
    ):
        WorkingHoursFactory(clinician=staff["clinician"], valid_from=CHANGE,
                            valid_until=DAY_BEFORE)  # fmt: skip


def test_free_times_follow_the_hours_in_force(staff, hours):
    with transaction.atomic(using="default"):
        apply_context("clinic_front_desk", staff["frontdesk"].pk)
        slots = free_slots(clinician_id=staff["clinician"].pk, minutes=30,
                           first_day=CHANGE, days=1,
                           now=clinic_moment(DAY_BEFORE, 0))  # fmt: skip
    hours_offered = {slot.local_start.hour for slot in slots}
    assert hours_offered == {13, 14, 15, 16}


def test_the_day_view_offers_the_free_time_in_force(client_for, staff, hours):
    body = client_for(staff["frontdesk"]).get(
        reverse("scheduling:day"), {"date": CHANGE.isoformat()}
    )
    assert b"Book 13:00" in body.content
    assert b"Book 09:00" not in body.content


def test_utilisation_of_a_past_month_counts_the_hours_valid_then(staff):
    """Last month: 180 minutes on Mondays up to the 14th, 60 from the 15th (09:00-10:00)."""
    first = (this_month() - datetime.timedelta(days=1)).replace(day=1)
    change = first.replace(day=15)
    WorkingHoursFactory(clinician=staff["clinician"], valid_until=change - datetime.timedelta(1))
    WorkingHoursFactory(clinician=staff["clinician"], ends_at=datetime.time(10),
                        valid_from=change)  # fmt: skip
    patient = PatientFactory()
    for n in range(20):
        AppointmentFactory(
            patient=patient,
            clinician=staff["clinician"],
            status="done",
            starts_at=clinic_moment(first, 0) + datetime.timedelta(hours=n),
        )
    refresh()
    available = sum(
        180 if day < change else 60
        for day in (first + datetime.timedelta(days=n) for n in range(31))
        if day.month == first.month and day.weekday() == 0
    )
    shown = panels(staff)["utilisation_months"][first.isoformat()]
    assert shown == (round(100 * 20 * 30 / available), "")
