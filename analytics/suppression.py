"""Small-cell suppression (the CMS cell-size rule) as pure functions.

Rule: no count from 1 to 10 is shown ("<11"), and none can be worked out from what is shown.

- Primary suppression: every count from 1 to 10 is hidden and shown as "<11". Zero is shown.
- Complementary suppression: a table's total is assumed known (it is shown, or equals the total
  of another table on the page), so the hidden cells' sum is known too. While that sum would
  pin a hidden small count down to one value, or is itself a count under 11, the next smallest
  non-zero cell is hidden as well (shown as "*"). The check uses everything a reader knows: a
  "<11" cell lies in 1..10, a "*" cell lies between 11 and the smallest count still shown
  (complementary cells are always the smallest remaining ones).
- When no choice of cells protects the table (e.g. counts 1 and 11 with a known total of 12),
  the whole table is withheld.
- No percentages are derived from suppressed tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from math import inf

SMALL_MAX = 10
PRIMARY = "primary"
COMPLEMENTARY = "complementary"
PRIMARY_LABEL = "<11"
COMPLEMENTARY_LABEL = "*"


def is_small(count: int) -> bool:
    return 1 <= count <= SMALL_MAX


@dataclass(frozen=True)
class Cell:
    value: int
    suppressed: str = ""

    @property
    def shown(self) -> int | None:
        """The count a page may show, or None when hidden."""
        return None if self.suppressed else self.value

    @property
    def label(self) -> str:
        if self.suppressed == PRIMARY:
            return PRIMARY_LABEL
        if self.suppressed == COMPLEMENTARY:
            return COMPLEMENTARY_LABEL
        return f"{self.value:,}"


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


def _bounds(value_status: list[tuple[int, str]]) -> dict[int, tuple[float, float]]:
    shown_nonzero = [v for v, s in value_status if not s and v > 0]
    smallest_shown = min(shown_nonzero) if shown_nonzero else inf
    return {
        i: (1, SMALL_MAX) if s == PRIMARY else (SMALL_MAX + 1, smallest_shown)
        for i, (_v, s) in enumerate(value_status)
        if s
    }


def hidden_cell_derivable(values: Sequence[int], statuses: Sequence[str], total: int) -> bool:
    """True when the known total lets a reader narrow a hidden small count to one value, or
    when the hidden cells together add up to a count from 1 to 10."""
    value_status = list(zip(values, statuses, strict=True))
    hidden_sum = total - sum(v for v, s in value_status if not s)
    bounds = _bounds(value_status)
    if not bounds:
        return False
    if is_small(hidden_sum):
        return True
    for i, (lo, hi) in bounds.items():
        if statuses[i] != PRIMARY:
            continue
        others_hi = sum(b[1] for j, b in bounds.items() if j != i)
        others_lo = sum(b[0] for j, b in bounds.items() if j != i)
        lowest = max(lo, hidden_sum - others_hi)
        highest = min(hi, hidden_sum - others_lo)
        if highest - lowest < 1:
            return True
    return False


def suppress_counts(values: Sequence[int]) -> tuple[list[Cell], Cell, bool]:
    """Cells and total for a one-way table whose total is known; the flag says "withhold"."""
    total = sum(values)
    if is_small(total):
        # Every non-zero cell is small too; nothing but zeros can be shown.
        cells = [Cell(v, PRIMARY if v else "") for v in values]
        return cells, Cell(total, PRIMARY), False
    statuses = [PRIMARY if is_small(v) else "" for v in values]
    while hidden_cell_derivable(values, statuses, total):
        candidates = [i for i, v in enumerate(values) if v > 0 and not statuses[i]]
        if not candidates:
            return [Cell(v, PRIMARY if v else "") for v in values], Cell(total), True
        statuses[min(candidates, key=lambda i: (values[i], i))] = COMPLEMENTARY
    return [Cell(v, s) for v, s in zip(values, statuses, strict=True)], Cell(total), False


def suppress_table(items: Sequence[tuple[Hashable, str, int]]) -> SuppressedTable:
    """`items` are (key, label, count) rows of one table; see the module docstring."""
    cells, total, withheld = suppress_counts([count for _key, _label, count in items])
    rows = [Row(key, label, cell) for (key, label, _c), cell in zip(items, cells, strict=True)]
    if withheld:
        return SuppressedTable(rows=[], total=total, withheld=True)
    return SuppressedTable(rows=rows, total=total)


def leftover_is_safe(group_total: int, listed: Sequence[int]) -> bool:
    """A group (e.g. a chapter) shows `group_total`; listing some of its members (e.g. codes)
    tells the reader the rest adds up to the difference, which must not be a small count."""
    return not is_small(group_total - sum(listed))
