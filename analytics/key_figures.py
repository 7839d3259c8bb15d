"""The analyst's home page: the dashboards' key figures and two of their charts.

Everything comes from the same suppressed tables the dashboards show (analytics/dashboard.py,
suppression in the database): a figure is a table's total or one of its shown cells, never a
sum the page works out, so a hidden count stays hidden here too.
"""

from __future__ import annotations

from django.http import HttpRequest

from analytics import dashboard, selectors
from analytics.forms import default_range
from analytics.suppression import Cell, SuppressedTable

TOP_CHAPTERS = 5


def _busiest(table: SuppressedTable) -> tuple[str, Cell] | None:
    shown = [row for row in table.rows if row.cell.shown is not None]
    if not shown:
        return None
    row = max(shown, key=lambda r: r.cell.shown or 0)
    return row.label, row.cell


def analyst_key_figures(request: HttpRequest) -> dict[str, object]:
    with selectors.analyst_reads(request):
        providers = selectors.provider_names()
        filters = selectors.VisitFilters(*default_range())
        visit_panels, months = dashboard.visit_panels(filters, providers)
        patient_panels = dashboard.patient_panels()
        data_as_of = selectors.data_as_of()
    by_id = {panel.panel_id: panel for panel in [*visit_panels, *patient_panels]}
    chapters = by_id["chapters"].table
    return {
        "filters": filters,
        "data_as_of": data_as_of,
        "visit_total": months.total,
        "patient_total": by_id["ages"].table.total,
        "busiest_month": _busiest(months),
        "months_panel": by_id["months"],
        "ages_panel": by_id["ages"],
        "top_chapters": sorted(
            (row for row in chapters.rows if row.cell.shown),
            key=lambda row: -(row.cell.shown or 0),
        )[:TOP_CHAPTERS],
        "chapters_withheld": chapters.withheld,
        "suppressed_cells": sum(
            1 for panel in by_id.values() for row in panel.table.rows if row.cell.shown is None
        ),
    }
