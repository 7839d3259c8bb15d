"""Forms of the restriction pages (164.522(a)). Dates are the clinic's (timezone.localdate)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from rights.form_checks import not_in_future, required_text
from rights.restriction_models import (
    CATEGORIES,
    CLINIC_INFORMED,
    DECISIONS,
    ENDED_HOW,
    REFUSED,
    SELF_PAY,
)

CANNOT_REFUSE = (
    "A restriction of disclosure to a health plan of services paid in full out of pocket "
    "must be agreed (45 CFR 164.522(a)(1)(vi))."
)


class RestrictionForm(forms.Form):
    received_on = forms.DateField(
        label="Request received on", widget=forms.DateInput(attrs={"type": "date"})
    )
    category = forms.ChoiceField(label="What it restricts", choices=CATEGORIES)
    detail = forms.CharField(
        label="The scope, in detail (which services, which person, which use)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    decision = forms.ChoiceField(
        label="The clinic's decision", choices=DECISIONS, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self) -> date:
        return not_in_future(self.cleaned_data["received_on"])

    def clean_detail(self) -> str:
        return required_text(self.cleaned_data.get("detail"), "Say what the restriction covers.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("category") == SELF_PAY and cleaned.get("decision") == REFUSED:
            self.add_error("decision", CANNOT_REFUSE)
        return cleaned


class EndForm(forms.Form):
    how = forms.ChoiceField(label="How it ends", choices=ENDED_HOW, widget=forms.RadioSelect)

    def __init__(self, *args: Any, category: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if category == SELF_PAY:
            # 164.522(a)(2)(iii) does not apply to 164.522(a)(1)(vi): only the patient ends it.
            field = self.fields["how"]
            field.choices = [c for c in ENDED_HOW if c[0] != CLINIC_INFORMED]  # type: ignore[attr-defined]


class CommunicationForm(forms.Form):
    """164.522(b): an alternative address and/or phone, and whether it replaces the default."""

    requested_on = forms.DateField(
        label="Requested on", widget=forms.DateInput(attrs={"type": "date"})
    )
    alt_address = forms.CharField(
        label="Alternative address",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    alt_phone = forms.RegexField(
        label="Alternative phone",
        max_length=30,
        required=False,
        regex=r"^[0-9+()\-. ]{7,30}$",
        error_messages={"invalid": "Enter a phone number (digits, spaces, + ( ) - .)."},
    )
    use_instead = forms.BooleanField(
        label="Use instead of the default contact (the default is hidden from the front desk)",
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requested_on"].initial = timezone.localdate()

    def clean_requested_on(self) -> date:
        return not_in_future(
            self.cleaned_data["requested_on"], "A request cannot be made in the future."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("alt_address", "alt_phone"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        if not cleaned["alt_address"] and not cleaned["alt_phone"] and not self.errors:
            raise forms.ValidationError("Give an alternative address, a phone, or both.")
        return cleaned
