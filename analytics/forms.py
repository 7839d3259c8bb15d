"""Dashboard filters and the export form (all input through forms, never request.GET by hand)."""

from __future__ import annotations

import datetime
from functools import lru_cache

from django import forms
from django.utils import timezone

from analytics.selectors import VisitFilters
from records.icd10 import chapter_title

CHAPTERS = [str(number) for number in range(1, 23)]
DEFAULT_MONTHS = 24
MAX_MONTHS = 120


class MonthInput(forms.TextInput):
    input_type = "month"


def _parse_month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise forms.ValidationError("Enter a month as YYYY-MM.", code="invalid_month") from None


def default_range(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    end = (today or timezone.localdate()).replace(day=1)
    start = end
    for _ in range(DEFAULT_MONTHS - 1):
        start = (start - datetime.timedelta(days=1)).replace(day=1)
    return start, end


@lru_cache(maxsize=1)
def chapter_choices() -> list[tuple[str, str]]:
    return [("", "All chapters")] + [
        (number, f"{number}. {chapter_title(number)}") for number in CHAPTERS
    ]


class VisitFilterForm(forms.Form):
    start = forms.CharField(label="From month", widget=MonthInput, required=False)
    end = forms.CharField(label="To month", widget=MonthInput, required=False)
    chapter = forms.ChoiceField(label="ICD-10-CM chapter", required=False, choices=())
    provider = forms.TypedChoiceField(
        label="Provider", required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args, providers: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        start, end = default_range()
        self.fields["start"].widget.attrs["placeholder"] = start.strftime("%Y-%m")
        self.fields["end"].widget.attrs["placeholder"] = end.strftime("%Y-%m")
        chapter_field = self.fields["chapter"]
        provider_field = self.fields["provider"]
        assert isinstance(chapter_field, forms.ChoiceField)
        assert isinstance(provider_field, forms.ChoiceField)
        chapter_field.choices = chapter_choices()
        provider_field.choices = [("", "All providers")] + sorted(
            ((str(pk), name) for pk, name in providers.items()), key=lambda item: item[1]
        )

    def clean_start(self) -> datetime.date:
        value = self.cleaned_data["start"]
        return _parse_month(value) if value else default_range()[0]

    def clean_end(self) -> datetime.date:
        value = self.cleaned_data["end"]
        return _parse_month(value) if value else default_range()[1]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The first month must not be after the last month.")
            if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
                raise forms.ValidationError(f"Choose at most {MAX_MONTHS} months.")
        return cleaned

    def filters(self) -> VisitFilters:
        """The validated filters, or the defaults when the form is unbound or invalid."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            return VisitFilters(data["start"], data["end"], data["chapter"], data["provider"])
        start, end = default_range()
        return VisitFilters(start, end)
