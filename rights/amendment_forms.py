"""Forms of the amendment pages (164.526). Dates are the clinic's (timezone.localdate)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from rights.models import AMENDMENT_DENIAL_GROUNDS, RECEIVED_HOW

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 4})


def _text(value: str | None, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise forms.ValidationError(message)
    return text


class AmendmentRequestForm(forms.Form):
    record = forms.ChoiceField(label="Which signed visit note")
    received_on = forms.DateField(label="Received on", widget=DATE)
    received_how = forms.ChoiceField(label="How the request was made", choices=RECEIVED_HOW)
    requested = forms.CharField(
        label="What the patient asks to change, and why", max_length=4000, widget=TEXT
    )

    def __init__(self, *args: Any, visits: list[tuple[str, date, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.authors = {str(record_id): author for record_id, _day, author in visits}
        self.fields["record"].choices = [  # type: ignore[attr-defined]
            (str(record_id), f"Visit on {day:%Y-%m-%d}") for record_id, day, _author in visits
        ]
        self.fields["received_on"].initial = timezone.localdate()

    def clean_received_on(self) -> date:
        received: date = self.cleaned_data["received_on"]
        if received > timezone.localdate():
            raise forms.ValidationError("A request cannot be received in the future.")
        return received

    def clean_requested(self) -> str:
        return _text(self.cleaned_data.get("requested"), "Say what the patient asks to change.")


class TextForm(forms.Form):
    """One written text: an extension's reason, a statement of disagreement, a rebuttal."""

    text = forms.CharField(max_length=4000, widget=TEXT)

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label

    def clean_text(self) -> str:
        return _text(self.cleaned_data.get("text"), "Write the text.")


ACCEPT, DENY = "accept", "deny"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(ACCEPT, "Accept: append the amendment"), (DENY, "Deny")],
        widget=forms.RadioSelect,
    )
    amendment = forms.CharField(
        label="The amendment (appended to the note as your signed addendum)",
        max_length=4000,
        required=False,
        widget=TEXT,
    )
    notify = forms.CharField(
        label="Whom to notify of the amendment (persons the patient named, others who rely on it)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    denial_ground = forms.ChoiceField(
        label="Ground for denial", choices=[("", "—"), *AMENDMENT_DENIAL_GROUNDS], required=False
    )
    denial_reason = forms.CharField(
        label="Written reason for the denial (sent to the patient)",
        max_length=4000,
        required=False,
        widget=TEXT,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("amendment", "notify", "denial_reason"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        if cleaned.get("decision") == ACCEPT:
            if not cleaned["amendment"]:
                self.add_error("amendment", "Write the amendment to append.")
            if cleaned.get("denial_ground") or cleaned["denial_reason"]:
                self.add_error("denial_ground", "An accepted amendment has no denial ground.")
        elif cleaned.get("decision") == DENY:
            if not cleaned.get("denial_ground"):
                self.add_error("denial_ground", "Choose the ground for denial.")
            if not cleaned["denial_reason"]:
                self.add_error("denial_reason", "Write the reason for the denial.")
            if cleaned["amendment"]:
                self.add_error("amendment", "A denied request appends nothing.")
        return cleaned
