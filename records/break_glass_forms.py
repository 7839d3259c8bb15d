"""Forms for breaking the glass: password re-entry and a reason; review by the privacy officer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.forms import ReauthenticateForm
from records.models import BreakGlassGrant


class BreakGlassForm(ReauthenticateForm):
    """Re-authentication (every factor the clinician has, checked by ReauthenticateForm) plus
    the reason for the emergency access."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to confirm it is you.",
    )
    reason_category = forms.ChoiceField(label="Reason", choices=BreakGlassGrant.REASONS)
    reason_text = forms.CharField(
        label="Explanation",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for “Other”. The privacy officer reviews every access.",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)

    field_order = ["password", "reason_category", "reason_text", "next", "otp_token"]

    def clean_next(self) -> str:
        target = self.cleaned_data.get("next") or ""
        safe = target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if safe else ""

    def clean(self) -> dict[str, Any]:
        # The reason first: the factors are checked only once everything else is valid.
        category = self.cleaned_data.get("reason_category")
        if category == "other" and not self.cleaned_data.get("reason_text", "").strip():
            self.add_error("reason_text", "Explain the reason when you choose “Other”.")
        return super().clean()


class BreakGlassReviewForm(forms.Form):
    comment = forms.CharField(
        label="Review comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your conclusion. Do not copy clinical details here.",
    )
