"""Sortable columns of the access-log view and the patient's access report (ONC 170.315(d)(3)).

A sort is a key from a fixed allow-list, optionally prefixed with "-" (descending); anything
else falls back to the default. The key maps to model fields, with the event id as the
tie-breaker, so no text from the request ever reaches `order_by`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# key -> (label, field)
EVENT_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("Id", "id"),
    "when": ("When", "occurred_at"),
    "staff": ("Staff", "staff_id"),
    "role": ("Role", "role"),
    "action": ("Action", "action"),
    "patient": ("Patient", "patient_id"),
    "outcome": ("Outcome", "outcome"),
}
DEFAULT = "-when"


def chosen(
    data: Mapping[str, Any] | None, allowed: Mapping[str, Any], default: str = DEFAULT
) -> str:
    """`sort_by` (a header just clicked) or else `sort` (the current one), if allowed."""
    for name in ("sort_by", "sort"):
        value = str((data or {}).get(name) or "")
        if value and value.removeprefix("-") in allowed:
            return value
    return default


def order_by(sort: str) -> list[str]:
    descending = sort.startswith("-")
    field = EVENT_COLUMNS[sort.removeprefix("-")][1]
    return [f"-{field}", "-id"] if descending else [field, "id"]


@dataclass(frozen=True)
class Header:
    label: str
    key: str | None  # None: not sortable
    next_sort: str = ""  # the sort a click on the header asks for
    aria_sort: str = "none"


def headers(sort: str, columns: list[tuple[str, str | None]]) -> list[Header]:
    """Table headers: (label, key or None). Clicking the sorted column reverses it."""
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    result = []
    for label, key in columns:
        if key is None:
            result.append(Header(label, None))
        elif key == current:
            result.append(
                Header(
                    label,
                    key,
                    key if descending else f"-{key}",
                    "descending" if descending else "ascending",
                )
            )
        else:
            # Dates newest first on the first click, text A to Z.
            result.append(Header(label, key, f"-{key}" if key in ("when", "id") else key))
    return result
