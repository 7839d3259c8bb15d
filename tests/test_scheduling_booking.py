"""Booking from a patient: the front desk picks a clinician and type, sees the next free
times and books one; a time taken a moment ago (by a booking that commits while this one waits
on the exclusion constraint) is a clear form error with fresh times, never a 500. Clinicians,
analysts and staff without a role are refused and logged. Dates are pinned to a Monday 8-14
days ahead (tests.factories.FUTURE_MONDAY)."""

from __future__ import annotations

import datetime
import threading
import time
import uuid

import pytest
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from clinic import access_log
from clinic.encryption import encrypt_value
from localdb import cluster
from scheduling.models import Appointment
from tests.conftest import TEST_DATABASE, sign_in_client
from tests.factories import (
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    WorkingHoursFactory,
    clinic_moment,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def setup(staff, patient):
    WorkingHoursFactory(clinician=staff["clinician"], ends_at=datetime.time(10))  # Mon 9-10
    return {"patient": patient, "type": AppointmentTypeFactory()}


def url(patient) -> str:
    return reverse("scheduling:book", kwargs={"patient_id": patient.pk})


def search(staff, setup) -> dict:
    return {
        "clinician": str(staff["clinician"].pk),
        "appointment_type": str(setup["type"].pk),
        "from_date": FUTURE_MONDAY.isoformat(),
    }


def choice(hour: int, minute: int = 0) -> str:
    return clinic_moment(FUTURE_MONDAY, hour, minute).astimezone(datetime.UTC).isoformat()


def test_front_desk_sees_the_next_free_times(client_for, staff, setup):
    AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(FUTURE_MONDAY, 9))
    response = client_for(staff["frontdesk"]).get(url(setup["patient"]), search(staff, setup))
    assert response.status_code == 200
    body = response.content.decode()
    day = FUTURE_MONDAY.isoformat()
    assert f"Mon {day} 09:30" in body and f"Mon {day} 09:00" not in body
    assert f'value="{choice(9, 30)}"' in body
    [event] = events(access_log.CHART_VIEWED)
    assert event.patient_id == setup["patient"].pk


def test_front_desk_books_a_free_time(client_for, staff, setup):
    patient = setup["patient"]
    data = {**search(staff, setup), "starts_at": choice(9, 15), "visit_reason": "Fake: checkup"}
    response = client_for(staff["frontdesk"]).post(url(patient), data)
    assert response.status_code == 302
    # Back to the day, at the clinician's page of it (the day view redirects there).
    back = f"?date={FUTURE_MONDAY}&clinician={staff['clinician'].pk}"
    assert response["Location"] == reverse("scheduling:day") + back
    stored = Appointment.objects.using("owner").get()
    assert (stored.patient_id, stored.clinician_id, stored.booked_by_id, stored.status) == (
        patient.pk,
        staff["clinician"].pk,
        staff["frontdesk"].pk,
        "booked",
    )
    assert stored.starts_at == clinic_moment(FUTURE_MONDAY, 9, 15)
    assert stored.ends_at - stored.starts_at == datetime.timedelta(minutes=30)
    assert stored.visit_reason == "Fake: checkup"
    [event] = events(access_log.APPOINTMENT_BOOKED)
    assert (event.patient_id, event.object_id, event.outcome) == (
        patient.pk,
        str(stored.pk),
        "ok",
    )
    assert "checkup" not in f"{event.reason}{event.object_id}"


def test_a_time_outside_the_free_ones_is_refused(client_for, staff, setup):
    data = {**search(staff, setup), "starts_at": choice(8)}  # before working hours
    response = client_for(staff["frontdesk"]).post(url(setup["patient"]), data)
    assert response.status_code == 200
    assert b"no longer free" in response.content
    assert not Appointment.objects.using("owner").exists()


def _waiting_on_a_lock() -> bool:
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [TEST_DATABASE],
        ).fetchone()
    return bool(row and row[0])


def test_a_time_booked_a_moment_ago_is_a_clear_error_with_fresh_times(staff, setup):
    """Another desk's booking of 09:00 is in flight (uncommitted) while this one is checked, so
    09:00 is still offered; this INSERT waits on the exclusion constraint, the other commits,
    and this one is refused by the database: 409, a message, 09:00 no longer offered."""
    other = PatientFactory()
    result: dict = {}

    def post() -> None:
        try:
            client = sign_in_client(Client(), staff["frontdesk"])
            data = {**search(staff, setup), "starts_at": choice(9)}
            result["response"] = client.post(url(setup["patient"]), data)
        finally:
            connections.close_all()

    thread = threading.Thread(target=post)
    # The owner's maintenance is exempt from the write checks, not from the constraints.
    with transaction.atomic(using="owner"), connections["owner"].cursor() as blocker:
        blocker.execute(
            "INSERT INTO appointments (appointment_id, patient_id, clinician_id,"
            " appointment_type_id, starts_at, ends_at, status, cancel_reason, visit_reason,"
            " booked_by_id, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'booked', '', %s, %s, now(), now())",
            [
                str(uuid.uuid4()),
                str(other.pk),
                staff["clinician"].pk,
                setup["type"].pk,
                clinic_moment(FUTURE_MONDAY, 9),
                clinic_moment(FUTURE_MONDAY, 9, 30),
                encrypt_value("Fake reason", "appointments.visit_reason"),
                staff["frontdesk"].pk,
            ],
        )
        thread.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
    thread.join(timeout=60)
    response = result["response"]
    assert response.status_code == 409
    body = response.content.decode()
    assert "booked a moment ago" in body
    assert f'value="{choice(9)}"' not in body and f'value="{choice(9, 30)}"' in body
    assert Appointment.objects.using("owner").filter(patient=setup["patient"]).count() == 0
    [event] = events(access_log.APPOINTMENT_BOOKED)
    assert (event.patient_id, event.outcome) == (setup["patient"].pk, "slot_taken")


@pytest.mark.parametrize("persona", ["clinician", "analyst", "privacy", "admin", "outsider"])
def test_only_the_front_desk_books(client_for, staff, setup, persona):
    client = client_for(staff[persona])
    data = {**search(staff, setup), "starts_at": choice(9)}
    assert client.get(url(setup["patient"])).status_code == 403
    assert client.post(url(setup["patient"]), data).status_code == 403
    assert not Appointment.objects.using("owner").exists()
    refused = events(access_log.ACCESS_REFUSED, staff_id=staff[persona].pk)
    assert [event.patient_id for event in refused] == [setup["patient"].pk] * 2


def test_an_unknown_patient_is_a_404(client_for, staff):
    response = client_for(staff["frontdesk"]).get(
        reverse("scheduling:book", kwargs={"patient_id": uuid.uuid4()})
    )
    assert response.status_code == 404
    assert len(events(access_log.ACCESS_REFUSED)) == 1


def test_the_patient_summary_links_to_booking_for_the_front_desk_only(client_for, staff, patient):
    summary = reverse("patients:detail", kwargs={"patient_id": patient.pk})
    assert url(patient).encode() in client_for(staff["frontdesk"]).get(summary).content
    assert url(patient).encode() not in client_for(staff["clinician"]).get(summary).content
