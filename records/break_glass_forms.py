"""Forms for breaking the glass: password re-entry and a reason; review by the privacy officer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.forms import _clean_code, _code_field
from records.models import BreakGlassGrant


class BreakGlassForm(forms.Form):
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

    otp_token = _code_field()

    def __init__(
        self, *args: Any, request: HttpRequest, needs_code: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        if not needs_code:
            # Re-authentication asks for every factor the user has (the view checks the code).
            del self.fields["otp_token"]

    def clean_otp_token(self) -> str:
        return _clean_code(self.cleaned_data["otp_token"])

    def clean_next(self) -> str:
        target = self.cleaned_data.get("next") or ""
        safe = target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if safe else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason_category") == "other" and not cleaned.get("reason_text", "").strip():
            self.add_error("reason_text", "Explain the reason when you choose “Other”.")
        password = cleaned.get("password")
        if password and not self.errors:
            # Through the authentication backends: axes counts a wrong password as a failed
            # sign-in, and locks the account after the usual number of failures.
            user = authenticate(
                self.request, username=self.request.user.get_username(), password=password
            )
            if user is None or user.pk != self.request.user.pk:
                self.add_error("password", "That password is not correct.")
        return cleaned


class BreakGlassReviewForm(forms.Form):
    comment = forms.CharField(
        label="Review comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your conclusion. Do not copy clinical details here.",
    )
