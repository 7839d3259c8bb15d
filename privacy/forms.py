"""Forms of the privacy officer's console. Filters are ids, actions and dates: never PHI."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from clinic import access_log
from clinic.models import AccessEvent
from patients.forms import SEARCH_RESULT_LIMIT, PatientSearchForm
from patients.models import PatientIdentity
from privacy.access import IDENTITY_COLUMNS
from privacy.models import (
    CATEGORIES,
    ORAL,
    ORAL_SUSPENSION_DAYS,
    STATEMENT_KINDS,
    Disclosure,
)
from rights.restriction_models import COVERS, Restriction


class AccessLogSearchForm(forms.Form):
    staff = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"), required=False
    )
    patient_id = forms.UUIDField(label="Patient id", required=False)
    action = forms.ChoiceField(required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = cast(forms.ChoiceField, self.fields["action"])
        # The declared actions (clinic/access_log ACTIONS), never names found in the module.
        action.choices = [("", "Any action"), *access_log.action_choices()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filter(self, events: QuerySet[AccessEvent]) -> QuerySet[AccessEvent]:
        data = self.cleaned_data
        if data.get("staff"):
            events = events.filter(staff_id=data["staff"].pk)
        if data.get("patient_id"):
            events = events.filter(patient_id=data["patient_id"])
        if data.get("action"):
            events = events.filter(action=data["action"])
        zone = timezone.get_current_timezone()
        if data.get("date_from"):
            events = events.filter(
                occurred_at__gte=datetime.combine(data["date_from"], time.min, zone)
            )
        if data.get("date_to"):
            next_day = data["date_to"] + timedelta(days=1)
            events = events.filter(occurred_at__lt=datetime.combine(next_day, time.min, zone))
        return events


class PatientLookupForm(PatientSearchForm):
    """The front desk's search form (the same validation and blind indexes), without phone:
    last name and date of birth, SSN or MRN. The privacy officer reads only the blind-index
    columns and the name and MRN of a match (patients/db_grants.py)."""

    MODES = [mode for mode in PatientSearchForm.MODES if mode[0] != PatientSearchForm.PHONE]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["mode"]).choices = self.MODES
        del self.fields["phone"]

    def matches(self) -> list[PatientIdentity]:
        data = self.cleaned_data
        patients = PatientIdentity.objects.all()
        if data["mode"] == self.LAST_NAME_DOB:
            patients = patients.by_last_name_and_dob(data["last_name"], data["date_of_birth"])
        elif data["mode"] == self.SSN:
            patients = patients.by_ssn(data["ssn"])
        else:
            patients = patients.by_mrn(data["mrn"])
        found = list(patients.only(*IDENTITY_COLUMNS).order_by("pk")[:SEARCH_RESULT_LIMIT])
        return sorted(found, key=lambda p: (p.last_name.casefold(), p.first_name.casefold()))


RESTRICTION_WARNING = (
    "An agreed restriction (45 CFR 164.522(a)) covers this kind of disclosure. Check that this "
    "disclosure is permitted despite it, and confirm below; nothing was recorded."
)


class DisclosureForm(forms.ModelForm):
    """With `restrictions` (the patient's agreed restrictions in force): a disclosure in a
    category one of them covers needs the explicit confirmation, or nothing is saved."""

    category = forms.ChoiceField(choices=CATEGORIES)
    confirm_restriction = forms.BooleanField(
        label="I have checked the agreed restriction: this disclosure is permitted despite it",
        required=False,
    )

    class Meta:
        model = Disclosure
        fields = [
            "disclosed_on",
            "recipient",
            "recipient_address",
            "description",
            "purpose",
            "category",
        ]
        widgets = {
            "disclosed_on": forms.DateInput(attrs={"type": "date"}),
            "recipient_address": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 3}),
            "purpose": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, restrictions: list[Restriction] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.restrictions = restrictions or []
        self.covering: list[Restriction] = []
        if not self.restrictions:
            del self.fields["confirm_restriction"]

    def clean_disclosed_on(self) -> Any:
        value = self.cleaned_data["disclosed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("A disclosure cannot be in the future.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        category = cleaned.get("category", "")
        self.covering = [r for r in self.restrictions if category in COVERS.get(r.category, ())]
        if self.covering and not cleaned.get("confirm_restriction"):
            self.add_error("confirm_restriction", RESTRICTION_WARNING)
        return cleaned


class SuspensionForm(forms.ModelForm):
    """164.528(a)(2): the agency's or official's statement that suspends the accounting."""

    suspension_kind = forms.ChoiceField(label="Statement", choices=STATEMENT_KINDS)
    suspension_stated_on = forms.DateField(
        label="Date of the statement", widget=forms.DateInput(attrs={"type": "date"})
    )
    suspended_until = forms.DateField(
        label="Suspended until (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    suspension_statement = forms.CharField(
        label="Agency or official, and what they stated",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For an oral statement: the identity of the agency or official who made it.",
    )

    class Meta:
        model = Disclosure
        fields = [
            "suspension_kind",
            "suspension_stated_on",
            "suspended_until",
            "suspension_statement",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.may_be_suspended:
            raise forms.ValidationError(
                "Only disclosures to a health oversight agency or a law enforcement official "
                "can be suspended (164.528(a)(2))."
            )
        stated, until = cleaned.get("suspension_stated_on"), cleaned.get("suspended_until")
        if stated and stated > timezone.localdate():
            self.add_error("suspension_stated_on", "A statement cannot be in the future.")
        if stated and until:
            if until < stated:
                self.add_error("suspended_until", "The suspension cannot end before the statement.")
            limit = stated + timedelta(days=ORAL_SUSPENSION_DAYS)
            if cleaned.get("suspension_kind") == ORAL and until > limit:
                self.add_error(
                    "suspended_until",
                    f"An oral statement suspends for at most {ORAL_SUSPENSION_DAYS} days (until "
                    f"{limit:%Y-%m-%d}); record the written statement when it arrives.",
                )
        return cleaned


class UnlockForm(forms.Form):
    username = forms.CharField(required=False, max_length=150)
    ip_address = forms.GenericIPAddressField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("username") and not cleaned.get("ip_address"):
            raise forms.ValidationError("Choose an account or an address to unlock.")
        return cleaned
