"""Forms of the clinical side: a visit (new, edit, sign, addendum) and care-team assignments.

Every rule here is checked again below it: the model validates the ICD-10-CM code, row-level
security decides whose records may be written, and the care-team table is writable by the front
desk role only.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from clinic.staff import ClinicianChoiceField, clinician_choices
from patients.models import PatientIdentity
from records import icd10
from records.models import CareTeamMember, ClinicalRecord, VisitAddendum

NOTES_MAX_LENGTH = ClinicalRecord._meta.get_field("notes").max_length or 20000


class DateInput(forms.DateInput):
    input_type = "date"


class VisitForm(forms.Form):
    visit_date = forms.DateField(widget=DateInput, help_text="Not in the future.")
    diagnosis_code = forms.CharField(
        label="Diagnosis (ICD-10-CM code)",
        max_length=10,
        help_text="A billable code such as E11.9 or J06.9. Type a word to search.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    # forms.CharField already refuses NUL characters (ProhibitNullCharactersValidator).
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=NOTES_MAX_LENGTH,
        required=False,
        strip=False,
        error_messages={
            "max_length": "This note is %(show_value)d characters long: a note holds at "
            "most %(limit_value)d characters. Shorten it and save again: nothing was saved, "
            "and all of your text is still here."
        },
    )

    def __init__(self, *args: Any, patient: PatientIdentity, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.patient = patient
        # No maxlength: the browser would cut a pasted note silently. The limit is shown as a
        # live count (static/js/char-count.js) and enforced here with a message.
        notes = self.fields["notes"].widget.attrs
        notes.pop("maxlength", None)
        notes["data-max-length"] = str(NOTES_MAX_LENGTH)
        notes["aria-describedby"] = "id_notes_count"

    def clean_visit_date(self) -> datetime.date:
        visit_date: datetime.date = self.cleaned_data["visit_date"]
        if visit_date > timezone.localdate():
            raise forms.ValidationError("A visit date cannot be in the future.")
        if visit_date.year < self.patient.birth_year:
            raise forms.ValidationError("A visit date cannot be before the patient was born.")
        return visit_date

    def clean_diagnosis_code(self) -> str:
        code = self.cleaned_data["diagnosis_code"]
        if not icd10.is_valid_diagnosis(code):
            raise forms.ValidationError(
                "Not a billable ICD-10-CM code. Enter a complete code such as E11.9 "
                "(a category like E11 is not enough)."
            )
        return icd10.dotted(code)


class VisitEditForm(VisitForm):
    """The visit form plus the version it was read at (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CareTeamAddForm(forms.Form):
    staff = ClinicianChoiceField(queryset=User.objects.none(), label="Clinician")
    starts_on = forms.DateField(label="From", widget=DateInput, initial=timezone.localdate)
    ends_on = forms.DateField(label="Until (last day, optional)", widget=DateInput, required=False)
    reason = forms.CharField(
        max_length=CareTeamMember._meta.get_field("reason").max_length,
        help_text="Why this clinician treats the patient, e.g. primary care. No clinical details.",
    )

    def __init__(self, *args: Any, patient: PatientIdentity, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["staff"].queryset = clinician_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The last day cannot be before the first day.")
        if ends_on and ends_on < timezone.localdate():
            self.add_error("ends_on", "The last day cannot be in the past.")
        staff = cleaned.get("staff")
        if staff and starts_on and self._overlaps(staff, starts_on, ends_on):
            self.add_error("staff", "This clinician is already on the care team for those dates.")
        return cleaned

    def _overlaps(self, staff: User, starts_on: datetime.date, ends_on: Any) -> bool:
        existing = CareTeamMember.objects.filter(patient=self.patient, staff=staff)
        if ends_on:
            existing = existing.filter(starts_on__lte=ends_on)
        return existing.exclude(ends_on__lt=starts_on).exists()


class CareTeamEndForm(forms.Form):
    """Ends one current or upcoming assignment of this patient's care team."""

    member = forms.ModelChoiceField(queryset=CareTeamMember.objects.none())

    def __init__(self, *args: Any, patient: PatientIdentity, **kwargs: Any):
        super().__init__(*args, **kwargs)
        current = CareTeamMember.objects.filter(patient=patient)
        self.fields["member"].queryset = current.exclude(  # type: ignore[attr-defined]
            ends_on__lt=timezone.localdate()
        )


class SignForm(forms.Form):
    """Sign the note as read: the version shown, so a note changed since is not signed unseen."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=VisitAddendum._meta.get_field("text").max_length,
        strip=True,
        help_text="A correction or addition. It is signed with your name when added and "
        "cannot be changed afterwards.",
    )
