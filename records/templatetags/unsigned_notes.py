"""`{% unsigned_notes_panel %}`: the clinician's overdue unsigned notes, as a count and a link
(records/unsigned.py)."""

from __future__ import annotations

from typing import Any

from django import template

from records.unsigned import unsigned_notes_panel as panel_context

register = template.Library()


@register.inclusion_tag("records/includes/unsigned_notes.html", takes_context=True)
def unsigned_notes_panel(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    return panel_context(request) if request is not None else {"show": False}
