"""A select and a radio list drawn in Python, the same markup as Django's own templates draw.

Django draws each option through the form renderer's templates: an include per option of a
select, three nested includes per radio button. The booking page's 50 clinicians and 12 free
times made that a third of the page's time (issue 17 "Speed", docs/benchmarks.md). These
widgets build the same elements and attributes (django/forms/widgets/select.html,
multiple_input.html, input_option.html, attrs.html) from the same context
(`get_context`), so ids, `required`, `aria-describedby`, `selected` and `checked` are
Django's; tests/test_choice_fields.py holds the two drawings equal.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def flat_attrs(attrs: dict[str, Any]) -> str:
    """As attrs.html: False left out, True a bare name, anything else name="value"."""
    return "".join(
        ""
        if value is False
        else format_html(" {}", name)
        if value is True
        else format_html(' {}="{}"', name, value)
        for name, value in attrs.items()
    )


class FastSelect(forms.Select):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), flat_attrs(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            for option in options:
                parts.append(format_html('<option value="{}"', option["value"]))
                parts.append(flat_attrs(option["attrs"]))
                parts.append(format_html(">{}</option>", option["label"]))
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value escaped above)


class FastRadioSelect(forms.RadioSelect):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        own = widget["attrs"]
        parts = ["<div"]
        if own.get("id"):
            parts.append(format_html(' id="{}"', own["id"]))
        if own.get("class"):
            parts.append(format_html(' class="{}"', own["class"]))
        parts.append(">")
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html("<div><label>{}</label>", group_name))
            for option in options:
                parts.append("<div>")
                if option["wrap_label"]:
                    label_for = option["attrs"].get("id")
                    parts.append(
                        format_html('<label for="{}">', label_for) if label_for else "<label>"
                    )
                parts.append(
                    format_html('<input type="{}" name="{}"', option["type"], option["name"])
                )
                if option["value"] is not None:
                    parts.append(format_html(' value="{}"', option["value"]))
                parts.append(flat_attrs(option["attrs"]) + ">")
                if option["wrap_label"]:
                    parts.append(format_html(" {}</label>", option["label"]))
                parts.append("</div>")
            if group_name:
                parts.append("</div>")
        parts.append("</div>")
        return mark_safe("".join(parts))  # noqa: S308 (every value escaped above)
