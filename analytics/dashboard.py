"""Turn the database's suppressed tables into labelled panels and charts for the dashboard.

Every count and every hidden cell comes from the database (analytics/db_suppression.py); this
module adds labels, the page's order of the provider rows, and charts, and hides nothing."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.safestring import SafeString

from analytics import selectors
from analytics.db_suppression import OTHER_CODES
from analytics.suppression import SuppressedCounts, SuppressedTable, label_table
from analytics.svg_charts import Bar, horizontal_bars, vertical_bars
from records.icd10 import chapter_title, description, dotted


@dataclass(frozen=True)
class Panel:
    panel_id: str
    title: str
    first_column: str
    table: SuppressedTable
    chart: SafeString | None


def _chart(panel_id: str, title: str, table: SuppressedTable, vertical: bool) -> SafeString | None:
    if table.withheld or not table.rows:
        return None
    bars = [Bar(row.label, row.cell.shown, row.cell.label) for row in table.rows]
    draw = vertical_bars if vertical else horizontal_bars
    return draw(f"chart-{panel_id}", title, bars)


def _panel(
    panel_id: str,
    title: str,
    first_column: str,
    counts: SuppressedCounts,
    labels: dict[str, str],
    vertical: bool = False,
) -> Panel:
    table = label_table(counts, labels)
    return Panel(panel_id, title, first_column, table, _chart(panel_id, title, table, vertical))


def chapter_label(chapter: str) -> str:
    return f"{chapter}. {chapter_title(chapter)}" if chapter else "Unknown chapter"


def _month_label(key: str) -> str:
    return datetime.date.fromisoformat(key).strftime("%b %Y")


def _code_label(code: str) -> str:
    return "All other codes" if code == OTHER_CODES else f"{dotted(code)} {description(code)}"


def visit_panels(
    filters: selectors.VisitFilters, names: dict[int, str]
) -> tuple[list[Panel], SuppressedTable]:
    tables = selectors.visit_tables(filters)

    def labels(panel: str, label) -> dict[str, str]:
        return {key: label(key) for key, _cell in tables[panel].cells}

    months = _panel(
        "months",
        "Visits per month",
        "Month",
        tables["months"],
        labels("months", _month_label),
        vertical=True,
    )
    chapters = _panel(
        "chapters",
        "Visits by ICD-10-CM chapter",
        "Chapter",
        tables["chapters"],
        labels("chapters", chapter_label),
    )
    codes = _panel(
        "codes", "Top diagnosis codes", "Code", tables["codes"], labels("codes", _code_label)
    )
    providers = _panel(
        "providers",
        "Visits per provider",
        "Provider",
        tables["providers"],
        labels("providers", lambda key: names.get(int(key), f"Provider {key}")),
    )
    return [months, chapters, codes, providers], months.table


def patient_panels() -> list[Panel]:
    tables = selectors.patient_tables()
    ages = {key: "Unknown" if key == "unknown" else key for key, _cell in tables["ages"].cells}
    states = {key: key or "Not recorded" for key, _cell in tables["states"].cells}
    return [
        _panel("ages", "Registered patients by age band", "Age band", tables["ages"], ages),
        _panel("states", "Registered patients by state", "State", tables["states"], states),
    ]
