"""Forms of the front desk's day: finding slots, booking, cancelling, and each step of the day.

A booking's time must be one of the free slots computed when the form is checked (so nothing
outside working hours, in time off or over another appointment is accepted); the exclusion
constraints refuse the same overlaps again if another booking commits in between.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from clinic import roles
from clinic.choice_fields import ReadOnceModelChoiceField
from clinic.staff import ClinicianChoiceField, clinician_choices
from clinic.widgets import FastRadioSelect
from scheduling.models import Appointment, AppointmentType, ScheduleException
from scheduling.slots import Slot, free_slots, in_working_time, local_moment

SEARCH_DAYS = 28
SLOTS_SHOWN = 12


class DateInput(forms.DateInput):
    input_type = "date"


def search_start(chosen: datetime.date | None) -> datetime.date:
    """The first day searched: today if none or a past day; at most a year ahead."""
    today = timezone.localdate()
    if chosen and chosen > today + datetime.timedelta(days=366):
        raise forms.ValidationError("Search at most a year ahead.")
    return max(chosen or today, today)


class SlotSearchForm(forms.Form):
    clinician = ClinicianChoiceField(queryset=User.objects.none())
    appointment_type = ReadOnceModelChoiceField(
        queryset=AppointmentType.objects.filter(active=True), label="Appointment type"
    )
    from_date = forms.DateField(
        label="From", widget=DateInput, required=False, help_text="Today if left empty."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]

    # From the calendar: the time whose empty slot was chosen (UTC, in the URL; never PHI).
    at = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_from_date(self) -> datetime.date | None:
        chosen = self.cleaned_data.get("from_date")
        return search_start(chosen) if chosen or not self.data.get("at") else None

    def clean_at(self) -> datetime.datetime | None:
        return calendar_time(self.cleaned_data.get("at") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "from_date" in data and data["from_date"] is None and data.get("at"):
            data["from_date"] = search_start(timezone.localdate(data["at"]))
        return data

    def slots(self, *, patient_id: object, now: datetime.datetime) -> list[Slot]:
        """The next free times; from the calendar, none before the chosen time (so the chosen
        one comes first when it fits the type's length)."""
        data = self.cleaned_data
        return free_slots(
            clinician_id=data["clinician"].pk,
            minutes=data["appointment_type"].default_minutes,
            first_day=data["from_date"],
            days=SEARCH_DAYS,
            now=max(now, data["at"]) if data.get("at") else now,
            patient_id=patient_id,
            limit=SLOTS_SHOWN,
        )


def calendar_time(value: str) -> datetime.datetime | None:
    """A calendar link's time: UTC ISO 8601 (`2026-12-14T14:00Z`), within a year from now."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise forms.ValidationError("Not a time from the calendar.") from None
    if moment.tzinfo is None:
        raise forms.ValidationError("Not a time from the calendar.")
    now = timezone.now()
    if not now - datetime.timedelta(days=1) <= moment <= now + datetime.timedelta(days=366):
        raise forms.ValidationError("Choose a time within the coming year.")
    return moment.astimezone(datetime.UTC)


class CalendarSlotForm(forms.Form):
    """The empty slot chosen on the day or week view: a clinician and a time (ids and a UTC
    time in the URL, never PHI)."""

    clinician = ClinicianChoiceField(queryset=User.objects.none())
    at = forms.CharField()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]

    def clean_at(self) -> datetime.datetime | None:
        return calendar_time(self.cleaned_data.get("at") or "")


class SlotChoiceForm(forms.Form):
    """One of the free slots computed when the form is checked."""

    starts_at = forms.ChoiceField(label="Time", widget=FastRadioSelect)

    def __init__(
        self,
        *args: Any,
        slots: list[Slot],
        chosen: datetime.datetime | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        if chosen and slots and slots[0].starts_at == chosen:
            self.fields["starts_at"].initial = slots[0].value  # the calendar's empty slot
        self.slot_by_value = {slot.value: slot for slot in slots}
        self.fields["starts_at"].choices = [  # type: ignore[attr-defined]
            (slot.value, slot.local_start.strftime("%a %Y-%m-%d %H:%M")) for slot in slots
        ]
        self.fields["starts_at"].error_messages["invalid_choice"] = (
            "That time is no longer free. Choose one of the times below."
        )

    def clean_starts_at(self) -> datetime.datetime:
        return self.slot_by_value[self.cleaned_data["starts_at"]].starts_at


class BookingForm(SlotChoiceForm):
    visit_reason = forms.CharField(
        label="Reason for the visit (optional)",
        max_length=Appointment._meta.get_field("visit_reason").max_length,
        required=False,
        help_text="Shown to the clinician only; you will not see it again after booking.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class OutsideHoursTimeForm(forms.Form):
    """A time outside the clinician's working time (an override) for an appointment of
    `minutes`: the date, the clinic-time start and the reason category. The time must be to
    come, outside the clinician's working time (inside it, the free times are the way) and in
    no time off; the database checks the same (scheduling/db_checks.py). Moving an appointment
    uses it as it is; booking adds the visit reason (OutsideHoursForm)."""

    date = forms.DateField(widget=DateInput)
    time = forms.TimeField(
        label="Start (clinic time)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    override_reason = forms.ChoiceField(
        label="Why outside working time", choices=[("", "Choose…"), *Appointment.OVERRIDE_REASONS]
    )

    def __init__(self, *args: Any, clinician_id: int, minutes: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clinician_id = clinician_id
        self.minutes = minutes

    def clean_date(self) -> datetime.date:
        chosen: datetime.date = self.cleaned_data["date"]
        search_start(chosen)  # at most a year ahead
        return chosen

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "date" not in data or "time" not in data:
            return data
        starts_at = local_moment(data["date"], data["time"])
        ends_at = starts_at + datetime.timedelta(minutes=self.minutes)
        if starts_at < timezone.now():
            raise forms.ValidationError("Choose a time to come.")
        if in_working_time(self.clinician_id, starts_at, ends_at):
            raise forms.ValidationError(
                "That time is within the clinician's working time: choose it from the free times."
            )
        if ScheduleException.objects.filter(
            clinician_id=self.clinician_id,
            kind=ScheduleException.TIME_OFF,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).exists():
            raise forms.ValidationError("The clinician is away then (time off).")
        data["starts_at"] = starts_at
        return data


class OutsideHoursForm(OutsideHoursTimeForm):
    """Booking outside working time: the time, the reason category and the visit reason."""

    visit_reason = BookingForm.base_fields["visit_reason"]


class RescheduleSearchForm(forms.Form):
    """Free times for moving an appointment: same clinician, same length, from a day."""

    from_date = forms.DateField(
        label="From", widget=DateInput, required=False, help_text="Today if left empty."
    )

    def clean_from_date(self) -> datetime.date:
        return search_start(self.cleaned_data.get("from_date"))

    def first_day(self) -> datetime.date:
        if self.is_bound and self.is_valid():
            chosen: datetime.date = self.cleaned_data["from_date"]
            return chosen
        return timezone.localdate()

    def slots(self, *, appointment: Appointment, now: datetime.datetime) -> list[Slot]:
        length = appointment.ends_at - appointment.starts_at
        return free_slots(
            clinician_id=appointment.clinician_id,
            minutes=int(length.total_seconds() // 60),
            first_day=self.first_day(),
            days=SEARCH_DAYS,
            now=now,
            patient_id=appointment.patient_id,
            ignore=appointment.pk,
            limit=SLOTS_SHOWN,
        )


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label="Reason", choices=Appointment.CANCEL_REASONS)


def within_reach(chosen: datetime.date | None) -> datetime.date | None:
    """A calendar date within ten years of today (the pages step a day or a week from it)."""
    if chosen and abs((chosen - timezone.localdate()).days) > 3653:
        raise forms.ValidationError("Choose a date within ten years of today.")
    return chosen


class DayForm(forms.Form):
    """The day view's address: a date, the front desk's page of clinicians, or a clinician
    chosen in the picker (ids and numbers only). A value that does not parse is ignored."""

    date = forms.DateField(widget=DateInput, required=False)
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)
    clinician = forms.IntegerField(min_value=1, required=False)

    def clean_date(self) -> datetime.date | None:
        return within_reach(self.cleaned_data.get("date"))

    def _value(self, name: str) -> Any:
        self.is_valid()  # cleaned_data keeps each field that parsed
        return getattr(self, "cleaned_data", {}).get(name)

    def day(self) -> datetime.date:
        return self._value("date") or timezone.localdate()

    def page_number(self) -> int:
        return int(self._value("page") or 1)

    def picked_clinician(self) -> int | None:
        return self._value("clinician")


# The steps a role takes from the day list (cancelling has its own form, with a reason).
STEPS = {
    roles.FRONT_DESK: tuple(s for s in Appointment.FRONT_DESK_STEPS if s != Appointment.CANCELLED),
    roles.CLINICIAN: Appointment.CLINICIAN_STEPS,
}


class StepForm(forms.Form):
    status = forms.ChoiceField()
    # Where the step was taken, to go back there: the day list, My day (home) or the board.
    back = forms.ChoiceField(
        choices=[("day", "day"), ("home", "home"), ("board", "board")], required=False
    )

    def __init__(self, *args: Any, group: str | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        labels = dict(Appointment.STATUSES)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            (status, labels[status]) for status in STEPS.get(group or "", ())
        ]


class WeekForm(forms.Form):
    """A clinician's week (the front desk chooses whom; a clinician sees their own)."""

    clinician = ClinicianChoiceField(queryset=User.objects.none(), required=False)
    date = forms.DateField(label="Week of", widget=DateInput, required=False)

    def clean_date(self) -> datetime.date | None:
        return within_reach(self.cleaned_data.get("date"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]

    def monday(self) -> datetime.date:
        chosen = (self.cleaned_data.get("date") if self.is_valid() else None) or (
            timezone.localdate()
        )
        return chosen - datetime.timedelta(days=chosen.weekday())

    def chosen_clinician(self) -> User | None:
        return self.cleaned_data.get("clinician") if self.is_valid() else None
