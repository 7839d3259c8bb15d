"""Turn rollup counts into suppressed tables and their charts for the dashboard page."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString

from analytics import selectors
from analytics.db_grants import AGE_BAND_ORDER
from analytics.suppression import SuppressedTable, leftover_is_safe, suppress_table
from analytics.svg_charts import Bar, horizontal_bars, vertical_bars
from records.icd10 import chapter_title, description, dotted

OTHER_CODES = "other"


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
    panel_id: str, title: str, first_column: str, items: list, vertical: bool = False
) -> Panel:
    table = suppress_table(items)
    return Panel(panel_id, title, first_column, table, _chart(panel_id, title, table, vertical))


def chapter_label(chapter: str) -> str:
    return f"{chapter}. {chapter_title(chapter)}" if chapter else "Unknown chapter"


def _top_code_items(
    filters: selectors.VisitFilters, chapters: SuppressedTable, total: int
) -> list[tuple[str, str, int]]:
    """Top codes plus "all other codes"; a code is dropped from the list when the rest of its
    chapter would otherwise be a count from 1 to 10 worked out against the chapter table."""
    listed = selectors.top_codes(filters)
    chapter_counts = {row.key: row.cell.shown for row in chapters.rows}
    changed = True
    while changed:
        changed = False
        for chapter, shown in chapter_counts.items():
            in_chapter = [item for item in listed if item[1] == chapter]
            if shown is None or not in_chapter:
                continue
            if not leftover_is_safe(shown, [n for _code, _ch, n in in_chapter]):
                listed.remove(min(in_chapter, key=lambda item: item[2]))
                changed = True
    items = [(code, f"{dotted(code)} {description(code)}", n) for code, _ch, n in listed]
    items.append((OTHER_CODES, "All other codes", total - sum(n for *_rest, n in listed)))
    return items


def visit_panels(
    filters: selectors.VisitFilters, names: dict[int, str]
) -> tuple[list[Panel], SuppressedTable]:
    counts = selectors.visit_counts(filters)
    months = _panel(
        "months",
        "Visits per month",
        "Month",
        [(m, m.strftime("%b %Y"), n) for m, n in counts.by_month.items()],
        vertical=True,
    )
    chapter_items = [
        (ch, chapter_label(ch), n)
        for ch, n in sorted(counts.by_chapter.items(), key=lambda kv: (not kv[0], int(kv[0] or 0)))
    ]
    chapters = _panel("chapters", "Visits by ICD-10-CM chapter", "Chapter", chapter_items)
    codes = _panel(
        "codes",
        "Top diagnosis codes",
        "Code",
        _top_code_items(filters, chapters.table, counts.total),
    )
    providers = _panel(
        "providers",
        "Visits per provider",
        "Provider",
        sorted(
            ((pk, names.get(pk, f"Provider {pk}"), n) for pk, n in counts.by_provider.items()),
            key=lambda item: item[1],
        ),
    )
    return [months, chapters, codes, providers], months.table


def patient_panels() -> list[Panel]:
    ages = selectors.patients_by_age_band()
    states = selectors.patients_by_state()
    age_items = [(band, band, ages.get(band, 0)) for band in AGE_BAND_ORDER]
    if ages.get("unknown"):
        age_items.append(("unknown", "Unknown", ages["unknown"]))
    return [
        _panel("ages", "Registered patients by age band", "Age band", age_items),
        _panel(
            "states",
            "Registered patients by state",
            "State",
            [(state, state or "Not recorded", n) for state, n in states.items()],
        ),
    ]
