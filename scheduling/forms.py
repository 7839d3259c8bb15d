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
from clinic.staff import ClinicianChoiceField, clinician_choices
from scheduling.models import Appointment, AppointmentType
from scheduling.slots import Slot, free_slots

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
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(active=True), label="Appointment type"
    )
    from_date = forms.DateField(
        label="From", widget=DateInput, required=False, help_text="Today if left empty."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]

    def clean_from_date(self) -> datetime.date:
        return search_start(self.cleaned_data.get("from_date"))

    def slots(self, *, patient_id: object, now: datetime.datetime) -> list[Slot]:
        data = self.cleaned_data
        return free_slots(
            clinician_id=data["clinician"].pk,
            minutes=data["appointment_type"].default_minutes,
            first_day=data["from_date"],
            days=SEARCH_DAYS,
            now=now,
            patient_id=patient_id,
            limit=SLOTS_SHOWN,
        )


class SlotChoiceForm(forms.Form):
    """One of the free slots computed when the form is checked."""

    starts_at = forms.ChoiceField(label="Time", widget=forms.RadioSelect)

    def __init__(self, *args: Any, slots: list[Slot], **kwargs: Any):
        super().__init__(*args, **kwargs)
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
    date = forms.DateField(widget=DateInput, required=False)

    def clean_date(self) -> datetime.date | None:
        return within_reach(self.cleaned_data.get("date"))

    def day(self) -> datetime.date:
        return (self.cleaned_data.get("date") if self.is_valid() else None) or (
            timezone.localdate()
        )


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
