"""Appointments: types, clinicians' working hours and exceptions, and the appointments booked.

Times are stored in UTC (`timestamptz`) and shown in the clinic's TIME_ZONE. An appointment is
live unless cancelled or a no-show; two exclusion constraints (btree_gist) refuse overlapping
live appointments of one clinician and of one patient, whoever writes (docs/scheduling.md).
The visit reason is PHI: encrypted, readable by the clinician only (scheduling/db_grants.py).
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedTextField
from patients.models import PatientIdentity


class TstzRange(models.Func):
    """`tstzrange(starts_at, ends_at, '[)')`: an appointment's time, end excluded."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def during() -> TstzRange:
    return TstzRange(models.F("starts_at"), models.F("ends_at"), models.Value("[)"))


class AppointmentType(models.Model):
    name = models.CharField(max_length=80, unique=True)
    default_minutes = models.PositiveSmallIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "appointment_types"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_minutes__gte=5, default_minutes__lte=480),
                name="appointment_types_minutes",
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One weekly session of a clinician, in the clinic's local time (09:00-12:30 on Mondays)."""

    WEEKDAYS = [
        (0, "Monday"),
        (1, "Tuesday"),
        (2, "Wednesday"),
        (3, "Thursday"),
        (4, "Friday"),
        (5, "Saturday"),
        (6, "Sunday"),
    ]
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="clinician_id",
        related_name="+",
    )
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    # The days (clinic's) these hours are in force, both ends included; empty: open-ended. New
    # hours are a new row from a day on, the old row ends the day before, so utilisation of
    # past months counts the hours valid then (analytics/appointment_rollups.py) and booking
    # checks the hours of the appointment's own day (db_checks.py, slots.py, free_time.py).
    valid_from = models.DateField(
        null=True, blank=True, help_text="First day these hours apply (empty: always)."
    )
    valid_until = models.DateField(
        null=True, blank=True, help_text="Last day these hours apply (empty: still in force)."
    )

    class Meta:
        db_table = "working_hours"
        verbose_name_plural = "working hours"
        ordering = ["clinician", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="working_hours_order"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="working_hours_weekday"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="working_hours_validity",
            ),
        ]

    def __str__(self) -> str:
        return f"working hours {self.pk}"

    def in_force_on(self, day: datetime.date) -> bool:
        """The same rule as WORKING_HOURS_IN_FORCE (SQL)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


# SQL: working hours row `w` is in force on the date expression `{day}`.
WORKING_HOURS_IN_FORCE = (
    "(w.valid_from IS NULL OR w.valid_from <= {day})"
    " AND (w.valid_until IS NULL OR w.valid_until >= {day})"
)


class ScheduleException(models.Model):
    """Time off (no appointments offered) or an extra session, from `starts_at` to `ends_at`.
    A whole day off is midnight to midnight, clinic time."""

    TIME_OFF = "time_off"
    EXTRA_SESSION = "extra_session"
    KINDS = [(TIME_OFF, "Time off"), (EXTRA_SESSION, "Extra session")]
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="clinician_id",
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=KINDS)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Free text ("medical leave", a colleague's name): encrypted like every free text.
    note = EncryptedTextField(max_length=200, blank=True)

    class Meta:
        db_table = "schedule_exceptions"
        indexes = [models.Index(fields=["clinician", "starts_at"], name="schedule_exc_clinician")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="schedule_exceptions_order",
            ),
        ]

    def __str__(self) -> str:
        return f"schedule exception {self.pk}"


# The longest appointment (the write check's rule for a booking, a CHECK constraint for every
# writer): so a day's appointments all start at most this long before the day does, and a
# range read is an index range on `starts_at`, not every earlier appointment.
LONGEST = datetime.timedelta(hours=8)
# Encrypted identifiers a list of appointments never shows (AppointmentQuerySet.listed).
PATIENT_NOT_LISTED = ("date_of_birth", "ssn", "address", "phone", "email", "gender_identity")


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def live(self) -> AppointmentQuerySet:
        return self.exclude(status__in=Appointment.NOT_LIVE)

    def between(self, start: datetime.datetime, end: datetime.datetime) -> AppointmentQuerySet:
        """Overlapping [start, end). The lower bound on `starts_at` changes no answer (no
        appointment is longer than LONGEST) and bounds the index scan: without it a day read
        every appointment before the day (half a year's at size: 160,000 rows, 30 ms)."""
        return self.filter(starts_at__lt=end, starts_at__gt=start - LONGEST, ends_at__gt=start)

    def listed(self) -> AppointmentQuerySet:
        """For a list of appointments: of the patient only what a list shows (name and MRN),
        so a day of 1,250 appointments decrypts 3 values a patient, not 9
        (docs/benchmarks.md, scheduling at size)."""
        return self.defer(*(f"patient__{name}" for name in PATIENT_NOT_LISTED))

    def for_front_desk(self) -> AppointmentQuerySet:
        """Without the visit reason: the front desk holds no SELECT right on that column."""
        return self.defer("visit_reason")


class Appointment(models.Model):
    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_ROOM = "in_room"
    SEEN = "seen"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    STATUSES = [
        (BOOKED, "Booked"),
        (ARRIVED, "Arrived"),
        (IN_ROOM, "In room"),
        (SEEN, "Seen"),
        (DONE, "Done"),
        (NO_SHOW, "No-show"),
        (CANCELLED, "Cancelled"),
    ]
    NOT_LIVE = (NO_SHOW, CANCELLED)
    # Whose work each step is: the forms offer, the services take and the database allows each
    # step for its role only (db_checks.py).
    FRONT_DESK_STEPS = (ARRIVED, NO_SHOW, CANCELLED)
    CLINICIAN_STEPS = (IN_ROOM, SEEN, DONE)
    # Taken only on the appointment's own day, the clinic's (services.py, db_checks.py).
    ON_THE_DAY_STEPS = (ARRIVED, NO_SHOW)
    # The patient's way through the day; the database refuses any other step (db_checks.py).
    NEXT = {
        BOOKED: (ARRIVED, NO_SHOW, CANCELLED),
        ARRIVED: (IN_ROOM, CANCELLED),
        IN_ROOM: (SEEN,),
        SEEN: (DONE,),
    }
    # The column each step stamps with its time.
    STAMPS = {
        ARRIVED: "arrived_at",
        IN_ROOM: "in_room_at",
        SEEN: "seen_at",
        DONE: "done_at",
        NO_SHOW: "no_show_at",
        CANCELLED: "cancelled_at",
    }
    CANCEL_REASONS = [
        ("patient_request", "Patient request"),
        ("patient_illness", "Patient unwell"),
        ("clinician_unavailable", "Clinician unavailable"),
        ("clinic_closure", "Clinic closure"),
        ("booked_in_error", "Booked in error"),
        ("other", "Other"),
    ]
    # Booking outside the clinician's working time: only the front desk, naming one of these
    # (never free text); the database refuses any other (db_checks.py, docs/scheduling.md).
    OVERRIDE_REASONS = [
        ("urgent", "Urgent need, seen today"),
        ("clinician_agreed", "Agreed with the clinician"),
        ("patient_availability", "Only time the patient can attend"),
    ]

    appointment_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="clinician_id",
        related_name="+",
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, db_column="appointment_type_id"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=STATUSES, default=BOOKED)
    arrived_at = models.DateTimeField(null=True, blank=True)
    in_room_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=24, choices=CANCEL_REASONS, blank=True)
    # Set while the appointment lies outside working time, booked or moved there by the front
    # desk (who: the access log); changes only with the time (scheduling/db_checks.py).
    override_reason = models.CharField(
        max_length=24, choices=OVERRIDE_REASONS, blank=True, default="", db_default=""
    )
    # PHI ("follow-up of ..."): encrypted; only the clinician may read it back.
    visit_reason = EncryptedTextField(max_length=200, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="booked_by_id",
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        db_table = "appointments"
        indexes = [
            models.Index(fields=["starts_at"], name="appointments_starts_at"),
            models.Index(fields=["patient", "starts_at"], name="appointments_patient"),
            # A clinician's day: the day list, and care team by appointment in the row-level
            # security of clinical records (scheduling/care_team.py), probed per patient.
            models.Index(fields=["clinician", "starts_at"], name="appointments_clinician_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointments_order"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__lte=models.F("starts_at") + LONGEST),
                name="appointments_at_most_8_hours",
            ),
            # No double booking of a clinician, nor of a patient (btree_gist: `=` in a GiST
            # index). Cancelled and no-show appointments free their time.
            ExclusionConstraint(
                name="appointments_no_clinician_overlap",
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    (during(), RangeOperators.OVERLAPS),
                ],
                condition=~models.Q(status__in=["no_show", "cancelled"]),
            ),
            ExclusionConstraint(
                name="appointments_no_patient_overlap",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (during(), RangeOperators.OVERLAPS),
                ],
                condition=~models.Q(status__in=["no_show", "cancelled"]),
            ),
        ]

    def __str__(self) -> str:
        return f"appointment {self.appointment_id}"

    @property
    def is_live(self) -> bool:
        return self.status not in self.NOT_LIVE

    @property
    def next_steps(self) -> tuple[str, ...]:
        return self.NEXT.get(self.status, ())

    def may_become(self, status: str) -> bool:
        return status in self.next_steps

    @property
    def is_today(self) -> bool:
        """Starts today on the clinic's clocks (TIME_ZONE)."""
        return timezone.localdate(self.starts_at) == timezone.localdate()

    @property
    def steps_now(self) -> tuple[str, ...]:
        """The next steps that may be taken now: check-in and no-show on the day only."""
        return self.steps_on(timezone.localdate())

    def steps_on(self, today: datetime.date) -> tuple[str, ...]:
        """The next steps that may be taken on the clinic's `today` (a page of rows asks
        with one `today`): check-in and no-show on the appointment's day only."""
        on_its_day = timezone.localdate(self.starts_at) == today
        return tuple(s for s in self.next_steps if s not in self.ON_THE_DAY_STEPS or on_its_day)
