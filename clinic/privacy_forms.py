"""Forms of the privacy officer's console. Filters are ids, actions and dates: never PHI."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from clinic import access_log
from clinic.disclosures import CATEGORIES, Disclosure
from clinic.models import AccessEvent


def event_actions() -> list[str]:
    """The access-log vocabulary, read from clinic/access_log.py so new events appear here."""
    return sorted(
        value
        for name, value in vars(access_log).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z_]+", value)
    )


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
        action.choices = [("", "Any action")] + [(a, a) for a in event_actions()]

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


class MrnLookupForm(forms.Form):
    mrn = forms.CharField(label="Medical record number", max_length=20)


class DisclosureForm(forms.ModelForm):
    category = forms.ChoiceField(choices=CATEGORIES)

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

    def clean_disclosed_on(self) -> Any:
        value = self.cleaned_data["disclosed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("A disclosure cannot be in the future.")
        return value


class UnlockForm(forms.Form):
    username = forms.CharField(required=False, max_length=150)
    ip_address = forms.GenericIPAddressField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("username") and not cleaned.get("ip_address"):
            raise forms.ValidationError("Choose an account or an address to unlock.")
        return cleaned
