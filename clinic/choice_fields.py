"""A model choice field that reads its choices once per form.

Django's ModelChoiceField sends one query to check the value sent (`queryset.get`) and another
to draw the options (a fresh iteration each time): a page that checks a search and shows it
again asks the same list twice (the booking page asked for the clinicians and the appointment
types twice each, issue 17 "Speed"). Here both use one read of the queryset, kept on the form's
own copy of the field (a form lives for one request), so what is offered and what is accepted
are the same rows. The options are drawn by clinic/widgets.py's select.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator

from clinic.widgets import FastSelect


class ReadOnceIterator(ModelChoiceIterator):
    field: ReadOnceModelChoiceField

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.rows():
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.field.rows()) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.rows())


class ReadOnceModelChoiceField(forms.ModelChoiceField):
    iterator = ReadOnceIterator
    widget = FastSelect  # its options drawn in Python (clinic/widgets.py)
    _read: tuple[Any, list[Any]] | None = None

    def rows(self) -> list[Any]:
        """The queryset's rows, read once; a new queryset (each form's copy of the field gets
        one, `queryset.all()`) is read afresh."""
        if self._read is None or self._read[0] is not self.queryset:
            self._read = (self.queryset, list(self.queryset or ()))
        return self._read[1]

    def to_python(self, value: Any) -> Any:
        """As ModelChoiceField's: the row whose key is `value`, among the rows offered."""
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        assert self.queryset is not None
        model = self.queryset.model
        field = model._meta.get_field(self.to_field_name) if self.to_field_name else model._meta.pk
        if isinstance(value, model):
            value = getattr(value, field.attname)
        try:
            key = field.to_python(value)
        except (ValueError, TypeError, ValidationError):
            key = None
        for obj in self.rows():
            if key is not None and getattr(obj, field.attname) == key:
                return obj
        raise ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )
