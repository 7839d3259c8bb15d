"""What every form of the rights pages checks the same way: a date the clinic received (or the
patient made) a request is not in the future, by the clinic's date (timezone.localdate), and a
required text is not blank once trimmed. One message each, so the forms say it alike."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 4})
RECEIVED_IN_THE_FUTURE = "A request cannot be received in the future."


def not_in_future(day: date, message: str = RECEIVED_IN_THE_FUTURE) -> date:
    if day > timezone.localdate():
        raise forms.ValidationError(message)
    return day


def required_text(value: str | None, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise forms.ValidationError(message)
    return text
