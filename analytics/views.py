"""Analyst dashboards and the de-identified export. Analysts only; everything else gets 403."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from analytics import appointment_dashboard, dashboard, selectors
from analytics.export import MAX_ROWS, ExportTooLarge, export_rows, write_csv
from analytics.forms import VisitFilterForm
from clinic import access_log, roles
from clinic.access import group_required


def _filter_form(data, providers: dict[int, str]) -> VisitFilterForm:
    return VisitFilterForm(data or None, providers=providers)


@require_GET
@group_required(roles.ANALYST)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    with selectors.analyst_reads(request):
        providers = selectors.provider_names()
        form = _filter_form(request.GET, providers)
        filters = form.filters()
        visit_panels, months = dashboard.visit_panels(filters, providers)
        appointment_tables, appointment_lead = appointment_dashboard.appointment_panels(
            filters.start, filters.end, providers
        )
        context = {
            "form": form,
            "filters": filters,
            "visit_panels": visit_panels,
            "patient_panels": dashboard.patient_panels(),
            "appointment_tables": appointment_tables,
            "appointment_lead": appointment_lead,
            "visit_total": months.total,
            "data_as_of": selectors.data_as_of(),
            "replica": selectors.replica_state(),
        }
    return render(request, "analytics/dashboard.html", context)


@require_POST
@group_required(roles.ANALYST)
def export_view(request: HttpRequest) -> HttpResponse:
    with selectors.analyst_reads(request):
        form = _filter_form(request.POST, selectors.provider_names())
        if not form.is_valid():
            return render(request, "analytics/export_error.html", {"form": form}, status=400)
        filters = form.filters()
        try:
            text, count = write_csv(export_rows(filters))
        except ExportTooLarge:
            form.add_error(None, f"More than {MAX_ROWS:,} visits: choose fewer years or a filter.")
            return render(request, "analytics/export_error.html", {"form": form}, status=400)
    # The export event goes to the primary, in the request's own transaction.
    access_log.record(
        request,
        access_log.EXPORT,
        object_id="safe_harbor_visits",
        reason=f"years {filters.start.year}-{filters.end.year}, {count} rows",
    )
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"visits-deidentified-{filters.start.year}-{filters.end.year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
