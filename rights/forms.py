"""Forms of the right-of-access pages. Dates are the clinic's (timezone.localdate)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from rights.form_checks import DATE, not_in_future, required_text
from rights.models import DENIAL_GROUNDS, DENIED, OUTCOMES, PARTIAL, AccessRequest


class MrnLookupForm(forms.Form):
    """The patient of a new request, by medical record number (POSTed, never in a URL)."""

    mrn = forms.CharField(label="Medical record number", max_length=20)


class AccessRequestForm(forms.ModelForm):
    class Meta:
        model = AccessRequest
        fields = [
            "received_on",
            "received_how",
            "verified_how",
            "requested",
            "format",
            "delivery",
        ]
        labels = {
            "received_on": "Received on",
            "received_how": "How the request was made",
            "verified_how": "How you verified the requester's identity",
            "format": "Form and format wanted",
        }
        widgets = {"received_on": DATE, "requested": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self) -> date:
        return not_in_future(self.cleaned_data["received_on"])

    def clean_requested(self) -> str:
        return required_text(self.cleaned_data["requested"], "Say what the patient asks for.")


class ExtensionForm(forms.Form):
    reason = forms.CharField(
        label="Written reason for the 30-day extension (given to the patient)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, access_request: AccessRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_request = access_request

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        request = self.access_request
        if not request.is_open:
            raise forms.ValidationError("This request is closed.")
        if request.extended_on is not None:
            raise forms.ValidationError("This request was already extended once.")
        if timezone.localdate() > request.due_on:
            raise forms.ValidationError("The due date has passed: a request cannot be extended.")
        reason = (cleaned.get("reason") or "").strip()
        if not reason and "reason" not in self.errors:
            self.add_error("reason", "Give the written reason.")
        cleaned["reason"] = reason
        return cleaned


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[c for c in OUTCOMES if c[0] != "open"])
    denial_ground = forms.ChoiceField(
        label="Ground for denial (denied or partially fulfilled)",
        choices=[("", "—"), *DENIAL_GROUNDS],
        required=False,
    )
    note = forms.CharField(
        label="Note on the outcome (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, access_request: AccessRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_request = access_request

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        outcome = cleaned.get("outcome")
        ground = cleaned.get("denial_ground")
        if not self.access_request.is_open:
            raise forms.ValidationError("This request is closed.")
        if outcome in (DENIED, PARTIAL) and not ground:
            self.add_error("denial_ground", "A denial names its ground.")
        if outcome not in (DENIED, PARTIAL) and ground:
            self.add_error("denial_ground", "Only a denial names a ground.")
        if outcome in ("fulfilled", PARTIAL) and self.access_request.handed_over_on is None:
            self.add_error("outcome", "Record the hand-over of the export first.")
        return cleaned
