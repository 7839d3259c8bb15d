"""Suppressed tables as the dashboards show them: the database has already suppressed them.

The rule (the CMS cell-size rule: no count from 1 to 10 shown or derivable, with complementary
cells) is applied in PostgreSQL, before any count reaches the analyst's role
(analytics/db_suppression.py); what arrives here is each cell's status and, for a cell shown,
its count. Nothing in Python hides or reveals a count: this module only labels what it gets.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

PRIMARY = "primary"
COMPLEMENTARY = "complementary"
WITHHELD = "withheld"
PRIMARY_LABEL = "<11"
COMPLEMENTARY_LABEL = "*"


@dataclass(frozen=True)
class Cell:
    shown: int | None  # the count a page may show, or None when hidden
    suppressed: str = ""

    @property
    def label(self) -> str:
        if self.suppressed == PRIMARY:
            return PRIMARY_LABEL
        if self.suppressed == COMPLEMENTARY:
            return COMPLEMENTARY_LABEL
        return f"{self.shown or 0:,}"


@dataclass(frozen=True)
class Row:
    key: Hashable
    label: str
    cell: Cell


@dataclass(frozen=True)
class SuppressedTable:
    rows: list[Row]
    total: Cell
    withheld: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def has_suppression(self) -> bool:
        return self.total.suppressed != "" or any(r.cell.suppressed for r in self.rows)


@dataclass(frozen=True)
class SuppressedCounts:
    """One table as the database returns it: (key, cell) in the page's order, and the total."""

    cells: list[tuple[str, Cell]]
    total: Cell
    withheld: bool = False


def tables_from_rows(rows: list[tuple[str, int, str | None, int | None, str]]) -> dict:
    """`(panel, place, key, shown, status)` rows of a panel function -> SuppressedCounts per
    panel; place 0 is the total ("withheld": the table is withheld, its total shown)."""
    totals: dict[str, tuple[Cell, bool]] = {}
    cells: dict[str, list[tuple[int, str, Cell]]] = {}
    for panel, place, key, shown, status in rows:
        if place == 0:
            withheld = status == WITHHELD
            totals[panel] = (Cell(shown, "" if withheld else status), withheld)
        else:
            cells.setdefault(panel, []).append((place, key or "", Cell(shown, status)))
    return {
        panel: SuppressedCounts(
            [(key, cell) for _place, key, cell in sorted(cells.get(panel, []))], total, withheld
        )
        for panel, (total, withheld) in totals.items()
    }


def label_table(counts: SuppressedCounts, labels: dict[str, str]) -> SuppressedTable:
    """Name each row (`labels` maps a key to its label; the key itself otherwise)."""
    if counts.withheld:
        return SuppressedTable(rows=[], total=counts.total, withheld=True)
    rows = [Row(key, labels.get(key, key), cell) for key, cell in counts.cells]
    return SuppressedTable(rows=rows, total=counts.total)
