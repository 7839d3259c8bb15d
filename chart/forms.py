"""Forms of the chart. Every rule here is checked again below it: CHECK constraints (ranges,
statuses, date order), write triggers (codes, dates, authorship) and row-level security
(whose chart) in the database. Messages never echo what was typed."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from chart.models import MEASURES, Allergy, Medication, Problem
from records import icd10


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _not_future(value: datetime.date | None, what: str) -> None:
    if value and value > timezone.localdate():
        raise forms.ValidationError(f"{what} cannot be in the future.")


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity", "status"]
        labels = {"substance": "Substance (drug, food or other)"}
        help_texts = {"reaction": "e.g. hives, anaphylaxis (optional)."}

    def __init__(self, *args: Any, new: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if new:
            # A new allergy is active; resolving or marking in error is a change of it.
            del self.fields["status"]

    def clean_substance(self) -> str:
        text = " ".join(self.cleaned_data["substance"].split())
        if not text:
            raise forms.ValidationError("Name the substance.")
        return text


class NoKnownAllergiesForm(forms.Form):
    confirm = forms.BooleanField(
        label="The patient was asked and reports no known allergies", required=True
    )


class ProblemForm(forms.ModelForm):
    icd10_code = forms.CharField(
        label="Problem (ICD-10-CM code)",
        max_length=10,
        help_text="A billable code such as E11.9 or I10. Type a word to search.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta:
        model = Problem
        fields = ["icd10_code", "onset_date", "note"]
        widgets = {"onset_date": DateInput(), "note": forms.Textarea(attrs={"rows": 3})}
        labels = {"onset_date": "Onset (optional)"}

    def clean_icd10_code(self) -> str:
        code = self.cleaned_data["icd10_code"]
        if not icd10.is_valid_diagnosis(code):
            raise forms.ValidationError(
                "Not a billable ICD-10-CM code. Enter a complete code such as E11.9 "
                "(a category like E11 is not enough)."
            )
        return icd10.dotted(code)

    def clean_onset_date(self) -> datetime.date | None:
        value = self.cleaned_data["onset_date"]
        _not_future(value, "The onset")
        return value


class ProblemStatusForm(forms.Form):
    """Resolve (on a date) or re-activate a problem."""

    action = forms.ChoiceField(choices=[("resolve", "Resolve"), ("reactivate", "Re-activate")])
    resolved_on = forms.DateField(
        label="Resolved on", widget=DateInput(), required=False, initial=timezone.localdate
    )

    def __init__(self, *args: Any, problem: Problem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problem = problem

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action, resolved_on = cleaned.get("action"), cleaned.get("resolved_on")
        if action == "resolve":
            if self.problem.status != Problem.ACTIVE:
                raise forms.ValidationError("This problem is already resolved.")
            resolved_on = resolved_on or timezone.localdate()
            if resolved_on > timezone.localdate():
                self.add_error("resolved_on", "The resolution cannot be in the future.")
            elif self.problem.onset_date and resolved_on < self.problem.onset_date:
                self.add_error("resolved_on", "The resolution cannot be before the onset.")
            cleaned["resolved_on"] = resolved_on
        elif action == "reactivate" and self.problem.status != Problem.RESOLVED:
            raise forms.ValidationError("This problem is already active.")
        return cleaned


def _measure_field(measure: Any) -> forms.Field:
    bounds = {"min_value": measure.low, "max_value": measure.high, "required": False}
    unit = measure.display_unit.replace("%", "%%")  # Django formats these messages with %
    messages = {
        "min_value": f"{measure.label} below {measure.low} {unit} is not "
        "plausible; check the value and its unit.",
        "max_value": f"{measure.label} above {measure.high} {unit} is not "
        "plausible; check the value and its unit.",
        "invalid": "Enter a number.",
    }
    label = f"{measure.label} ({measure.display_unit})"
    if isinstance(measure.low, Decimal):
        return forms.DecimalField(
            label=label, max_digits=5, decimal_places=1, error_messages=messages, **bounds
        )
    return forms.IntegerField(label=label, error_messages=messages, **bounds)


class VitalSignsForm(forms.Form):
    taken_at = forms.DateTimeField(
        label="Taken at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for measure in MEASURES:
            self.fields[measure.column] = _measure_field(measure)

    def clean_taken_at(self) -> datetime.datetime:
        value: datetime.datetime = self.cleaned_data["taken_at"]
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise forms.ValidationError("Vital signs cannot be taken in the future.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if all(cleaned.get(m.column) is None for m in MEASURES) and not self.errors:
            raise forms.ValidationError("Enter at least one measurement.")
        systolic, diastolic = cleaned.get("systolic"), cleaned.get("diastolic")
        if (systolic is None) != (diastolic is None) and "systolic" not in self.errors:
            self.add_error("diastolic", "Enter both blood pressure values, or neither.")
        elif systolic is not None and diastolic is not None and systolic <= diastolic:
            self.add_error("diastolic", "The diastolic pressure must be below the systolic.")
        return cleaned

    @property
    def measurements(self) -> dict[str, Any]:
        return {m.column: self.cleaned_data.get(m.column) for m in MEASURES}


class MedicationForm(forms.ModelForm):
    class Meta:
        model = Medication
        fields = ["name", "dose", "route", "frequency", "start_date", "stop_date", "status"]
        labels = {"name": "Medication", "start_date": "Started", "stop_date": "Stopped"}
        help_texts = {
            "name": "Drug name and strength, e.g. metformin 500 mg tablet.",
            "dose": "e.g. 1 tablet.",
            "frequency": "e.g. twice a day.",
        }
        widgets = {"start_date": DateInput(), "stop_date": DateInput()}

    def __init__(self, *args: Any, new: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if new:
            del self.fields["status"]

    def clean_name(self) -> str:
        text = " ".join(self.cleaned_data["name"].split())
        if not text:
            raise forms.ValidationError("Name the medication.")
        return text

    def clean_start_date(self) -> datetime.date | None:
        value = self.cleaned_data["start_date"]
        _not_future(value, "The start")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, stop = cleaned.get("start_date"), cleaned.get("stop_date")
        if start and stop and stop < start:
            self.add_error("stop_date", "The stop date cannot be before the start date.")
        return cleaned
