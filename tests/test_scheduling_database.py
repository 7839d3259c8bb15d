"""What the database guarantees for appointments, tested with raw SQL on the real cluster, run
on the web login's connection after a real request context (as injected SQL would run): no
double booking of a clinician or a patient (also when two front-desk users book the same slot at
the same moment), the grants and row-level security of the role matrix, the write checks, and
the visit reason stored only as ciphertext."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from django.db import DatabaseError, connections, transaction
from django.db.utils import ProgrammingError
from django.test import RequestFactory
from django.utils import timezone

from clinic import access_log
from clinic.db_context import apply_context
from clinic.encryption import encrypt_value
from clinic.staff import database_role_for
from localdb import cluster
from scheduling.models import Appointment
from scheduling.services import SlotTaken, appointment_book
from tests.conftest import TEST_DATABASE
from tests.factories import (
    FAKE_VISIT_REASON,
    FUTURE_MONDAY,
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
    clinic_moment,
    today_at,
)
from tests.privacy_helpers import events

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture(autouse=True)
def working_hours(staff):
    """Both clinicians work Mondays 08:00-18:00, so the times below are in working time."""
    for clinician in (staff["clinician"], staff["clinician2"]):
        WorkingHoursFactory(
            clinician=clinician, starts_at=datetime.time(8), ends_at=datetime.time(18)
        )


INSERT = (
    "INSERT INTO appointments (appointment_id, patient_id, clinician_id, appointment_type_id,"
    " starts_at, ends_at, status, cancel_reason, visit_reason, booked_by_id, created_at,"
    " updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'booked', '', %s, %s, now(), now())"
)


def inject(user, statement: str, params: list | None = None):
    """Rows changed (or fetched) by `statement` in `user`'s request; the database's error if it
    refuses."""
    with transaction.atomic(using="default"):
        apply_context(database_role_for(user), user.pk)
        with connections["default"].cursor() as cursor:
            cursor.execute(statement, params or [])
            return cursor.fetchall() if cursor.description else cursor.rowcount


def insert_params(*, patient, clinician, booked_by, start=None, minutes=30) -> list:
    start = start or clinic_moment(FUTURE_MONDAY, 9)
    return [
        str(uuid.uuid4()),
        str(patient.pk),
        clinician.pk,
        AppointmentTypeFactory().pk,
        start,
        start + datetime.timedelta(minutes=minutes),
        encrypt_value("Fake reason", "appointments.visit_reason"),
        booked_by.pk,
    ]


def stored_count() -> int:
    return Appointment.objects.using("owner").count()


def test_front_desk_sql_cannot_double_book_a_clinician(staff):
    AppointmentFactory(clinician=staff["clinician"])  # 09:00-09:30
    overlapping = insert_params(
        patient=PatientFactory(),
        clinician=staff["clinician"],
        booked_by=staff["frontdesk"],
        start=clinic_moment(FUTURE_MONDAY, 9, 15),
    )
    with pytest.raises(DatabaseError, match="appointments_no_clinician_overlap"):
        inject(staff["frontdesk"], INSERT, overlapping)
    adjacent = insert_params(
        patient=PatientFactory(),
        clinician=staff["clinician"],
        booked_by=staff["frontdesk"],
        start=clinic_moment(FUTURE_MONDAY, 9, 30),
    )
    assert inject(staff["frontdesk"], INSERT, adjacent) == 1  # end excluded: back to back is fine
    assert stored_count() == 2


def test_front_desk_sql_cannot_double_book_a_patient(staff):
    booked = AppointmentFactory(clinician=staff["clinician"])
    with_another_clinician = insert_params(
        patient=booked.patient,
        clinician=staff["clinician2"],
        booked_by=staff["frontdesk"],
        start=clinic_moment(FUTURE_MONDAY, 9, 20),
    )
    with pytest.raises(DatabaseError, match="appointments_no_patient_overlap"):
        inject(staff["frontdesk"], INSERT, with_another_clinician)


def test_a_cancelled_appointment_frees_its_time(staff):
    AppointmentFactory(clinician=staff["clinician"], status="cancelled", cancel_reason="other")
    params = insert_params(
        patient=PatientFactory(), clinician=staff["clinician"], booked_by=staff["frontdesk"]
    )
    assert inject(staff["frontdesk"], INSERT, params) == 1


def test_even_the_owner_cannot_double_book(staff):
    booked = AppointmentFactory()
    with pytest.raises(DatabaseError, match="overlap"):
        AppointmentFactory(clinician=booked.clinician)


def test_two_front_desk_users_booking_the_same_slot_at_once_exactly_one_wins(staff):
    from clinic import roles
    from tests.conftest import make_staff

    desks = [staff["frontdesk"], make_staff("t-frontdesk2", roles.FRONT_DESK)]
    patients = [PatientFactory(), PatientFactory()]
    kind = AppointmentTypeFactory()
    start = clinic_moment(FUTURE_MONDAY, 9)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(desk, patient) -> None:
        request = RequestFactory().post("/")
        request.user = desk
        try:
            barrier.wait(timeout=30)
            # As the booking view: the refusal is caught inside the request's transaction, so
            # its event commits with it.
            with transaction.atomic(using="default"):
                apply_context("clinic_front_desk", desk.pk)
                try:
                    appointment_book(
                        request=request,
                        patient=patient,
                        clinician=staff["clinician"],
                        appointment_type=kind,
                        starts_at=start,
                    )
                    outcomes.append("booked")
                except SlotTaken:
                    outcomes.append("taken")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=book, args=pair) for pair in zip(desks, patients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked", "taken"]
    assert stored_count() == 1
    booked = events(access_log.APPOINTMENT_BOOKED)
    assert sorted(event.outcome for event in booked) == ["ok", "slot_taken"]
    winner = Appointment.objects.using("owner").get()
    [ok] = [event for event in booked if event.outcome == "ok"]
    assert (ok.object_id, ok.patient_id, ok.staff_id) == (
        str(winner.pk),
        winner.patient_id,
        winner.booked_by_id,
    )


def test_the_visit_reason_is_stored_as_ciphertext(staff):
    AppointmentFactory()
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        [(stored,)] = conn.execute("SELECT visit_reason FROM appointments").fetchall()
    assert stored.startswith("v1:")
    assert "sentinel-reason" not in stored and "routine" not in stored
    assert Appointment.objects.using("owner").get().visit_reason == FAKE_VISIT_REASON


def test_the_front_desk_cannot_read_the_visit_reason(staff):
    AppointmentFactory()
    assert inject(staff["frontdesk"], "SELECT count(*) FROM appointments") == [(1,)]
    with pytest.raises(ProgrammingError, match="permission denied"):
        inject(staff["frontdesk"], "SELECT visit_reason FROM appointments")


def test_a_clinician_reads_only_their_own_appointments(staff):
    own = AppointmentFactory(clinician=staff["clinician"])
    AppointmentFactory(clinician=staff["clinician2"])
    rows = inject(staff["clinician"], "SELECT appointment_id, visit_reason FROM appointments")
    assert [row[0] for row in rows] == [own.pk]


def test_a_clinician_cannot_book_and_others_read_nothing(staff):
    AppointmentFactory(clinician=staff["clinician"])
    params = insert_params(
        patient=PatientFactory(),
        clinician=staff["clinician"],
        booked_by=staff["clinician"],
        start=clinic_moment(FUTURE_MONDAY, 11),
    )
    with pytest.raises(ProgrammingError, match="permission denied"):
        inject(staff["clinician"], INSERT, params)
    for persona in ("analyst", "admin"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            inject(staff[persona], "SELECT count(*) FROM appointments")
    # The privacy officer reads who, with whom and when only (the care-team flag).
    with pytest.raises(ProgrammingError, match="permission denied"):
        inject(staff["privacy"], "SELECT visit_reason FROM appointments")


def test_another_groups_rights_cannot_be_borrowed(staff):
    """The role gate: an analyst's request that switches to the front desk's role sees nothing."""
    AppointmentFactory()
    with transaction.atomic(using="default"):
        apply_context("clinic_analyst", staff["analyst"].pk)
        with connections["default"].cursor() as cursor:
            cursor.execute("SET LOCAL ROLE clinic_front_desk")
            cursor.execute("SELECT count(*) FROM appointments")
            assert cursor.fetchone() == (0,)


def test_a_booking_is_in_the_callers_name(staff):
    params = insert_params(
        patient=PatientFactory(), clinician=staff["clinician"], booked_by=staff["clinician2"]
    )
    with pytest.raises(DatabaseError):
        inject(staff["frontdesk"], INSERT, params)
    assert stored_count() == 0


def test_a_booking_cannot_be_for_a_time_already_over(staff):
    params = insert_params(
        patient=PatientFactory(),
        clinician=staff["clinician"],
        booked_by=staff["frontdesk"],
        start=timezone.now() - datetime.timedelta(hours=2),
    )
    with pytest.raises(DatabaseError, match="after it has ended"):
        inject(staff["frontdesk"], INSERT, params)


STEP = "UPDATE appointments SET status = %s, {column} = now(), updated_at = now()"
STATUS_ONLY = "UPDATE appointments SET status = %s, updated_at = now()"


@pytest.mark.parametrize(
    ("persona", "before", "status", "column", "refusal"),
    [
        # No right on the other role's time columns, and the status alone is refused.
        ("clinician", "booked", "arrived", "arrived_at", "permission denied"),
        ("clinician", "booked", "arrived", "", "another role"),
        ("frontdesk", "arrived", "in_room", "in_room_at", "permission denied"),
        ("frontdesk", "arrived", "in_room", "", "another role"),
        ("clinician", "booked", "done", "done_at", "not a step of the day"),
    ],
)
def test_each_step_is_its_own_roles_and_in_order(staff, persona, before, status, column, refusal):
    arrived_at = timezone.now() if before == "arrived" else None
    AppointmentFactory(clinician=staff["clinician"], status=before, arrived_at=arrived_at)
    statement = STEP.format(column=column) if column else STATUS_ONLY
    with pytest.raises(DatabaseError, match=refusal):
        inject(staff[persona], statement, [status])


def test_the_day_goes_step_by_step_with_each_role(staff):
    appointment = AppointmentFactory(clinician=staff["clinician"], starts_at=today_at(12))
    assert inject(staff["frontdesk"], STEP.format(column="arrived_at"), ["arrived"]) == 1
    assert inject(staff["clinician"], STEP.format(column="in_room_at"), ["in_room"]) == 1
    with pytest.raises(DatabaseError, match="stamped with its own time"):
        inject(staff["clinician"], "UPDATE appointments SET status = 'seen', updated_at = now()")
    assert inject(staff["clinician2"], STEP.format(column="seen_at"), ["seen"]) == 0  # not theirs
    assert inject(staff["clinician"], STEP.format(column="seen_at"), ["seen"]) == 1
    appointment.refresh_from_db(using="owner")
    assert appointment.status == "seen" and appointment.arrived_at is not None


@pytest.mark.parametrize("status", ["arrived", "no_show"])
@pytest.mark.parametrize("days", [-1, 1, 8])
def test_check_in_and_no_show_only_on_the_appointments_clinic_day(staff, status, days):
    """The day is the clinic's (clinic_today()), whatever the hour the test runs at: an
    appointment at 00:00 or 23:30 clinic time yesterday or tomorrow is refused, today's taken."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    for hour, minute in ((0, 0), (23, 30)):
        AppointmentFactory(clinician=staff["clinician"], starts_at=clinic_moment(day, hour, minute))
        with pytest.raises(DatabaseError, match="only on the appointment's day"):
            inject(staff["frontdesk"], STEP.format(column=f"{status}_at"), [status])
        Appointment.objects.using("owner").all().delete()
    for hour, minute in ((0, 0), (23, 30)):
        AppointmentFactory(clinician=staff["clinician"], starts_at=today_at(hour, minute))
    assert inject(staff["frontdesk"], STEP.format(column=f"{status}_at"), [status]) == 2


def test_who_and_what_never_change_and_a_cancellation_gives_a_known_reason(staff):
    AppointmentFactory(clinician=staff["clinician"])
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(
            staff["frontdesk"],
            "UPDATE appointments SET booked_by_id = %s, updated_at = now()",
            [staff["frontdesk"].pk],
        )
    with pytest.raises(DatabaseError, match="known reason"):
        inject(
            staff["frontdesk"],
            "UPDATE appointments SET status = 'cancelled', cancelled_at = now(),"
            " cancel_reason = 'whim', updated_at = now()",
        )


def _desk_insert(staff, start, minutes=30) -> list:
    return insert_params(
        patient=PatientFactory(),
        clinician=staff["clinician"],
        booked_by=staff["frontdesk"],
        start=start,
        minutes=minutes,
    )


@pytest.mark.parametrize(
    ("hour", "minute", "minutes"),
    [(7, 30, 30), (17, 45, 30), (20, 0, 30)],
    ids=["before", "across-the-end", "evening"],
)
def test_a_booking_outside_working_hours_is_refused(staff, hour, minute, minutes):
    start = clinic_moment(FUTURE_MONDAY, hour, minute)
    with pytest.raises(DatabaseError, match="working time"):
        inject(staff["frontdesk"], INSERT, _desk_insert(staff, start, minutes))
    tuesday = FUTURE_MONDAY + datetime.timedelta(days=1)  # no session on Tuesdays
    with pytest.raises(DatabaseError, match="working time"):
        inject(staff["frontdesk"], INSERT, _desk_insert(staff, clinic_moment(tuesday, 9)))


def test_time_off_refuses_and_an_extra_session_allows(staff):
    ScheduleExceptionFactory(clinician=staff["clinician"])  # Monday 10:00-11:00 off
    with pytest.raises(DatabaseError, match="working time"):
        inject(
            staff["frontdesk"], INSERT, _desk_insert(staff, clinic_moment(FUTURE_MONDAY, 10, 30))
        )
    saturday = FUTURE_MONDAY + datetime.timedelta(days=5)
    ScheduleExceptionFactory(
        clinician=staff["clinician"],
        kind="extra_session",
        starts_at=clinic_moment(saturday, 9),
        ends_at=clinic_moment(saturday, 12),
    )
    assert inject(staff["frontdesk"], INSERT, _desk_insert(staff, clinic_moment(saturday, 9))) == 1


def test_a_move_outside_working_hours_is_refused(staff):
    AppointmentFactory(clinician=staff["clinician"])
    with pytest.raises(DatabaseError, match="working time"):
        inject(
            staff["frontdesk"],
            "UPDATE appointments SET starts_at = %s, ends_at = %s, updated_at = now()",
            [clinic_moment(FUTURE_MONDAY, 19), clinic_moment(FUTURE_MONDAY, 19, 30)],
        )


@pytest.mark.parametrize("persona", ["frontdesk", "clinician", "analyst", "privacy"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE working_hours SET ends_at = '23:59'",
        "DELETE FROM schedule_exceptions",
        "INSERT INTO appointment_types (name, default_minutes, active) VALUES ('x', 5, true)",
        "SELECT note FROM schedule_exceptions",
    ],
)
def test_only_the_administrator_sets_schedules_and_reads_their_notes(staff, persona, statement):
    """The schedule decides which bookings the database accepts: no other role's SQL may widen
    it, and the (encrypted) note of a time-off entry is the administrator's alone."""
    from tests.db_helpers import in_request

    WorkingHoursFactory(clinician=staff["clinician"])
    with pytest.raises(DatabaseError, match="permission denied"):
        in_request(staff[persona], statement)


def test_the_administrator_sets_schedules(staff):
    """Hours not yet in force (those in force before today only end:
    tests/test_scheduling_hours_changes.py)."""
    from django.utils import timezone

    from tests.db_helpers import in_request

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    hours = WorkingHoursFactory(clinician=staff["clinician"], valid_from=tomorrow)
    changed = in_request(
        staff["admin"],
        "UPDATE working_hours SET ends_at = '13:00' WHERE id = %s RETURNING id",
        [hours.pk],
    )
    assert changed == [(hours.pk,)]
