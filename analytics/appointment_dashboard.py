"""The analyst dashboard's appointment tables: appointments, no-shows, the no-show rate and
utilisation by month and by clinician, by type, and lead time (analytics/appointment_rollups.py).

Every count and hidden cell comes from the database; the no-show rate is the ratio of two cells
the database showed (none when either is hidden), utilisation is the database's own figure
(hidden where the appointment count is)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from analytics import selectors
from analytics.appointment_rollups import LEAD_BANDS
from analytics.suppression import Cell, SuppressedCounts, SuppressedTable, label_table


@dataclass(frozen=True)
class RateRow:
    label: str
    kept: Cell
    no_shows: Cell
    utilisation: Cell | None

    @property
    def no_show_rate(self) -> str:
        if self.kept.suppressed or self.no_shows.suppressed or not self.kept.shown:
            return "—"
        return f"{100 * (self.no_shows.shown or 0) / self.kept.shown:.1f} %"

    @property
    def utilisation_label(self) -> str:
        if self.utilisation is None:
            return ""
        if self.utilisation.suppressed or self.utilisation.shown is None:
            return self.utilisation.label if self.utilisation.suppressed else "—"
        return f"{self.utilisation.shown} %"


@dataclass(frozen=True)
class RateTable:
    table_id: str
    title: str
    first_column: str
    rows: list[RateRow]
    total: RateRow
    withheld: bool
    with_utilisation: bool


def _rate_table(
    tables: dict[str, SuppressedCounts],
    suffix: str,
    title: str,
    first_column: str,
    label,
) -> RateTable:
    kept, no_shows = tables[f"appointments_{suffix}"], tables[f"no_shows_{suffix}"]
    utilisation = tables.get(f"utilisation_{suffix}")
    shown_no_shows = dict(no_shows.cells)
    shown_utilisation = dict(utilisation.cells) if utilisation else {}
    rows = [
        RateRow(
            label(key),
            cell,
            shown_no_shows.get(key, Cell(None, "withheld")),
            shown_utilisation.get(key) if utilisation else None,
        )
        for key, cell in kept.cells
    ]
    total = RateRow("Total", kept.total, no_shows.total, utilisation.total if utilisation else None)
    withheld = kept.withheld or no_shows.withheld
    return RateTable(
        suffix, title, first_column, [] if withheld else rows, total, withheld, bool(utilisation)
    )


def appointment_panels(
    start: datetime.date, end: datetime.date, names: dict[int, str]
) -> tuple[list[RateTable], SuppressedTable]:
    tables = selectors.appointment_tables(start, end)
    months = _rate_table(
        tables,
        "months",
        "Appointments per month",
        "Month",
        lambda key: datetime.date.fromisoformat(key).strftime("%b %Y"),
    )
    clinicians = _rate_table(
        tables,
        "clinicians",
        "Appointments per clinician",
        "Clinician",
        lambda key: names.get(int(key), f"Provider {key}"),
    )
    types = _rate_table(tables, "types", "Appointments by type", "Type", lambda key: key)
    lead = label_table(tables["lead_time"], dict(LEAD_BANDS))
    return [months, clinicians, types], lead
