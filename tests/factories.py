"""Test data: one factory_boy factory per model the tests fill, all values obviously fake.

Every factory writes through the owner connection (`Meta.database = "owner"`): the web connection
('default') logs in as clinic_web under a group role and may not insert. Rows are committed and
the `clinic_db` fixture deletes them after each test.

Defaults are fixed values, not random ones, so that tests can assert on what they stored:
- a patient is Alex Testperson, born 1980-04-30, SSN 900-00-0001, in MA (`birth_year=` moves
  the birth date to another year; `sentinel=True` plants the analytics tests' identifiers);
- a visit is J06.9 on 2024-03-04 with FAKE_NOTE (`sentinel=True`: NOTE_SENTINEL; `signed=True`:
  signed by its provider now); an addendum follows a signed visit, with FAKE_ADDENDUM;
- a care-team entry starts today, for "primary care";
- a break-the-glass grant is for an emergency, starts now and lasts `hours=4`;
- a disclosure to "Test recipient" is for public health, today;
- an appointment is a booked 30-minute follow-up on FUTURE_MONDAY (8-14 days ahead) at 09:00
  clinic time, with FAKE_VISIT_REASON; working hours are Mondays 09:00-12:00; time off is
  10:00-11:00 that Monday.
Staff and patients needed only as the other end of a relation are made by sub-factories.
"""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth.hashers import get_hasher, make_password
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

from accounts.passwords import INNER_ALGORITHM, wrap
from chart.models import Allergy, Medication, Problem, VitalSigns
from clinic import roles
from clinic.management.commands.seed_demo import ensure_groups
from patients.models import PatientIdentity
from privacy.models import Disclosure
from records.models import BreakGlassGrant, CareTeamMember, ClinicalRecord, VisitAddendum
from rights.models import AccessRequest, AmendmentRequest, amendment_due_date, due_date
from rights.restriction_models import (
    AGREED,
    NAMED_PERSON,
    ConfidentialCommunication,
    Restriction,
)

OWNER = "owner"
PASSWORD = "correct-horse-battery-staple-42"
FAKE_NOTE = "Fake note: sentinel-note-7f3a, patient reports feeling fine."
FAKE_ADDENDUM = "Fake addendum: sentinel-addendum-41c2, dose corrected."

# Identifiers planted in the analytics tests' patients and notes: none may reach an export.
SENTINELS = {
    "first_name": "Sentinelfirst",
    "last_name": "Testperson",
    "ssn": "900-00-0001",
    "address": "1 Sentinelstreet, Springfield",
    "phone": "555-0100",
    "email": "sentinel@example.test",
}
NOTE_SENTINEL = "Sentinelnote free text"

_PASSWORD_HASHES: dict[tuple[str, type], str] = {}


def password_hash(password: str) -> str:
    """The stored form of `password`: its Argon2 hash, computed once per test run and hasher in
    force (the real one is slow on purpose; tests/hashers.py), encrypted afresh under the field
    key in force (accounts/passwords.py)."""
    key = (password, type(get_hasher(INNER_ALGORITHM)))
    if key not in _PASSWORD_HASHES:
        _PASSWORD_HASHES[key] = make_password(password, hasher=INNER_ALGORITHM)
    return wrap(_PASSWORD_HASHES[key])


def this_month() -> datetime.date:
    """The first day of the current month: inside the analytics dashboards' default range."""
    return timezone.localdate().replace(day=1)


class StaffFactory(DjangoModelFactory):
    """A staff account in one clinic group (`group=`, a clinic.roles name; None for no group)."""

    class Meta:
        model = User
        database = OWNER

    class Params:
        plain_password = PASSWORD

    username = factory.Sequence(lambda n: f"t-staff{n}")
    password = factory.LazyAttribute(lambda o: password_hash(o.plain_password))
    is_active = True
    is_staff = factory.LazyAttribute(lambda o: o.group == roles.ADMINISTRATOR)
    group = None

    @classmethod
    def _build(cls, model_class, *args, group=None, **kwargs):
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, group=None, **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        if group:
            user.groups.set([ensure_groups()[group]])
        return user


class TOTPDeviceFactory(DjangoModelFactory):
    """A confirmed authenticator app (django-otp generates the key; the table holds it encrypted,
    accounts/otp_secrets.py)."""

    class Meta:
        model = TOTPDevice
        database = OWNER

    user = factory.SubFactory(StaffFactory)
    name = "Test authenticator"
    confirmed = True


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = PatientIdentity
        database = OWNER

    class Params:
        # The plaintext year is derived from the birth date on save; de-identified analytics
        # use only the year.
        birth_year = 1980
        sentinel = factory.Trait(**SENTINELS)

    first_name = "Alex"
    last_name = "Testperson"
    date_of_birth = factory.LazyAttribute(lambda o: datetime.date(o.birth_year, 4, 30))
    ssn = "900-00-0001"
    address = "1 Example Street, Testville"
    state = "MA"
    phone = "202-555-0100"
    email = "alex@example.test"


class ClinicalRecordFactory(DjangoModelFactory):
    """A visit."""

    class Meta:
        model = ClinicalRecord
        database = OWNER

    class Params:
        sentinel = factory.Trait(notes=NOTE_SENTINEL)
        # Signed by its provider now (docs/notes.md).
        signed = factory.Trait(
            signed_at=factory.LazyFunction(timezone.now),
            signed_by=factory.SelfAttribute("provider"),
        )

    patient = factory.SubFactory(PatientFactory)
    provider = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    diagnosis_code = "J06.9"
    notes = FAKE_NOTE
    visit_date = datetime.date(2024, 3, 4)


class CareTeamMemberFactory(DjangoModelFactory):
    """An assignment to a patient's care team; starts today (the model's default)."""

    class Meta:
        model = CareTeamMember
        database = OWNER

    staff = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    patient = factory.SubFactory(PatientFactory)
    reason = "primary care"


class VisitAddendumFactory(DjangoModelFactory):
    """An addendum to a (signed) visit, by the visit's provider unless `author=` says."""

    class Meta:
        model = VisitAddendum
        database = OWNER

    record = factory.SubFactory(ClinicalRecordFactory, signed=True)
    patient = factory.SelfAttribute("record.patient")
    author = factory.SelfAttribute("record.provider")
    text = FAKE_ADDENDUM


class BreakGlassGrantFactory(DjangoModelFactory):
    """Emergency access, active from now for `hours` (a negative number: already expired)."""

    class Meta:
        model = BreakGlassGrant
        database = OWNER

    class Params:
        hours = 4

    staff = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    patient = factory.SubFactory(PatientFactory)
    reason_category = "emergency"
    starts_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=o.hours))


class DisclosureFactory(DjangoModelFactory):
    """A disclosure recorded by a privacy officer (an accounting entry, 45 CFR 164.528)."""

    class Meta:
        model = Disclosure
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.PRIVACY_OFFICER)
    disclosed_on = factory.LazyFunction(timezone.localdate)
    recipient = "Test recipient"
    description = "Test description"
    purpose = "Test purpose"
    category = "public_health"


# --- scheduling -------------------------------------------------------------------------------
# Appointments are pinned to one Monday, 8 to 14 days after the clinic's today (no reliance on the
# hour, and far enough ahead that no slot of that day is already past); 09:00 clinic time.


def clinic_moment(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """`hour`:`minute` on `day` on the clinic's clocks (an aware datetime)."""
    import zoneinfo

    from django.conf import settings

    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


def today_at(hour: int, minute: int = 0) -> datetime.datetime:
    """`hour`:`minute` today on the clinic's clocks (check-in happens on the appointment's day)."""
    return clinic_moment(timezone.localdate(), hour, minute)


# "Tomorrow" in a parametrisation, resolved when the test runs (`at_run_time`), never at
# collection: a run that crosses the clinic's midnight would post a day that has become today.
TOMORROW = "<the clinic's tomorrow>"


def at_run_time(value):
    """`value`, with TOMORROW (alone, or as a value of a dict) as the clinic's tomorrow, ISO."""
    if isinstance(value, dict):
        return {key: at_run_time(item) for key, item in value.items()}
    if value == TOMORROW:
        return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    return value


def monday_after_next() -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 + (7 - today.weekday()) % 7 or 7)


FUTURE_MONDAY = monday_after_next()
FAKE_VISIT_REASON = "Fake reason: sentinel-reason-5c1d, routine check"


class AppointmentTypeFactory(DjangoModelFactory):
    class Meta:
        model = "scheduling.AppointmentType"
        database = OWNER
        django_get_or_create = ("name",)

    name = "Follow-up"
    default_minutes = 30
    active = True


class WorkingHoursFactory(DjangoModelFactory):
    """A weekly session, Mondays 09:00-12:00 clinic time unless told otherwise."""

    class Meta:
        model = "scheduling.WorkingHours"
        database = OWNER

    clinician = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    weekday = 0
    starts_at = datetime.time(9)
    ends_at = datetime.time(12)


class ScheduleExceptionFactory(DjangoModelFactory):
    """Time off, FUTURE_MONDAY 10:00-11:00 clinic time unless told otherwise."""

    class Meta:
        model = "scheduling.ScheduleException"
        database = OWNER

    clinician = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    kind = "time_off"
    starts_at = factory.LazyFunction(lambda: clinic_moment(FUTURE_MONDAY, 10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    note = "Fake note: training day"


class AppointmentFactory(DjangoModelFactory):
    """A booked 30-minute follow-up at FUTURE_MONDAY 09:00 clinic time (`starts_at=` moves it),
    booked by a front-desk user, with FAKE_VISIT_REASON."""

    class Meta:
        model = "scheduling.Appointment"
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    clinician = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    starts_at = factory.LazyFunction(lambda: clinic_moment(FUTURE_MONDAY, 9))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(minutes=30))
    visit_reason = FAKE_VISIT_REASON
    booked_by = factory.SubFactory(StaffFactory, group=roles.FRONT_DESK)


class AllergyFactory(DjangoModelFactory):
    """An active allergy to a fake substance (the chart's tests)."""

    class Meta:
        model = Allergy
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    substance = "Fakecillin"
    reaction = "Fake rash"
    severity = "moderate"


class ProblemFactory(DjangoModelFactory):
    class Meta:
        model = Problem
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    icd10_code = "I10"
    onset_date = datetime.date(2020, 1, 15)
    note = "Fake problem note"


class VitalSignsFactory(DjangoModelFactory):
    class Meta:
        model = VitalSigns
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    taken_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    systolic = 128
    diastolic = 82
    heart_rate = 72
    weight = 80
    height = 180


class MedicationFactory(DjangoModelFactory):
    class Meta:
        model = Medication
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.CLINICIAN)
    name = "Fakepril 10 mg tablet"
    dose = "1 tablet"
    route = "oral"
    frequency = "once a day"


# --- patients' rights -------------------------------------------------------------------------


class AccessRequestFactory(DjangoModelFactory):
    """An open right-of-access request (45 CFR 164.524), received today (the clinic's date)."""

    class Meta:
        model = AccessRequest
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    verified_by = factory.SubFactory(StaffFactory, group=roles.PRIVACY_OFFICER)
    received_on = factory.LazyFunction(timezone.localdate)
    received_how = "in_person"
    verified_how = "photo_id"
    requested = "Fake request: all visits and notes"
    format = "both"
    delivery = "pickup"
    due_on = factory.LazyAttribute(lambda o: due_date(o.received_on))


class AmendmentRequestFactory(DjangoModelFactory):
    """An open amendment request (45 CFR 164.526) for a signed visit note, routed to its author,
    received today (the clinic's date)."""

    class Meta:
        model = AmendmentRequest
        database = OWNER

    record = factory.SubFactory(ClinicalRecordFactory, signed=True)
    patient = factory.SelfAttribute("record.patient")
    routed_to = factory.SelfAttribute("record.signed_by")
    recorded_by = factory.SubFactory(StaffFactory, group=roles.PRIVACY_OFFICER)
    received_on = factory.LazyFunction(timezone.localdate)
    received_how = "mail"
    requested = "Fake request: the note says left knee, it was the right knee"
    due_on = factory.LazyAttribute(lambda o: amendment_due_date(o.received_on))


def deny_amendment(amendment: AmendmentRequest, decided_by) -> None:
    """Record a denial of `amendment` today (the clinic's date) on the owner login, as a decided
    request stands in the table (ground "accurate", a fake reason)."""
    AmendmentRequest.objects.using(OWNER).filter(pk=amendment.pk).update(
        outcome="denied",
        denial_ground="accurate",
        denial_reason="Fake reason",
        decided_on=timezone.localdate(),
        decided_by=decided_by,
    )


class RestrictionFactory(DjangoModelFactory):
    """An agreed restriction (45 CFR 164.522(a)) of disclosure to a named person, received and
    decided today (the clinic's date), in force."""

    class Meta:
        model = Restriction
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    decided_by = factory.SubFactory(StaffFactory, group=roles.PRIVACY_OFFICER)
    received_on = factory.LazyFunction(timezone.localdate)
    decided_on = factory.LazyFunction(timezone.localdate)
    category = NAMED_PERSON
    detail = "Fake detail: not to Testcousin Fakename"
    decision = AGREED


class ConfidentialCommunicationFactory(DjangoModelFactory):
    """Confidential communications (45 CFR 164.522(b)) in force: a fake alternative phone and
    address, used instead of the default contact, requested today."""

    class Meta:
        model = ConfidentialCommunication
        database = OWNER

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(StaffFactory, group=roles.PRIVACY_OFFICER)
    requested_on = factory.LazyFunction(timezone.localdate)
    alt_phone = "555-0199"
    alt_address = "9 Fakealt Lane, Testville"
    use_instead = True
