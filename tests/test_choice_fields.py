"""The select and the radio list drawn in Python (clinic/widgets.py) are Django's own drawing,
element for element: the same options, values, labels (escaped), ids, `selected`, `checked`,
`required` and described-by attributes. Compared as parsed HTML (whitespace aside)."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from clinic.widgets import FastRadioSelect, FastSelect

CHOICES = [("", "---------"), (1, "Fakeann <b>& co"), (2, 'Fakebo "the second"'), ("x<y", "Z")]
GROUPED = [("Fake group <one>", [(1, "One"), (2, "Two")]), ("Fake group two", [(3, "Three")])]
ATTRS = [
    None,
    {"id": "id_clinician", "required": True, "aria-describedby": "id_clinician_help"},
    {"id": "id_clinician", "aria-invalid": "true", "disabled": False, "class": "wide"},
]


@pytest.mark.parametrize("choices", [CHOICES, GROUPED])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", [None, "", 2, "x<y"])
def test_the_select_draws_what_djangos_select_draws(choices, attrs, value):
    ours = FastSelect(choices=choices).render("clinician", value, attrs)
    django = forms.Select(choices=choices).render("clinician", value, attrs)
    assert parse_html(ours) == parse_html(django)
    assert ours.count("<option") == django.count("<option")


@pytest.mark.parametrize("choices", [CHOICES[1:], GROUPED])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", [None, 2, "x<y"])
def test_the_radio_list_draws_what_djangos_radio_list_draws(choices, attrs, value):
    ours = FastRadioSelect(choices=choices).render("starts_at", value, attrs)
    django = forms.RadioSelect(choices=choices).render("starts_at", value, attrs)
    assert parse_html(ours) == parse_html(django)
    assert ours.count("<input") == django.count("<input")


def test_a_bound_field_with_an_error_draws_the_same():
    class Fake(forms.Form):
        ours = forms.ChoiceField(choices=CHOICES[1:], widget=FastRadioSelect, help_text="Fake")
        theirs = forms.ChoiceField(choices=CHOICES[1:], widget=forms.RadioSelect, help_text="Fake")

    form = Fake({"ours": "9", "theirs": "9"})
    assert not form.is_valid()
    drawn = str(form["ours"]).replace("ours", "NAME")
    assert "aria-invalid" in drawn
    assert parse_html(drawn) == parse_html(str(form["theirs"]).replace("theirs", "NAME"))
