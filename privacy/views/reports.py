"""Privacy officer's console: access-log search and export, per-patient access report, flags."""

from __future__ import annotations

import csv
import io
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from clinic import access_log
from clinic.models import AccessEvent
from privacy import sorting
from privacy.access import (
    get_patient_identity_for_privacy_officer,
    privacy_officer_required,
)
from privacy.forms import AccessLogSearchForm, PatientLookupForm
from privacy.selectors import (
    charts_outside_care_team,
    clinic_hours,
    patient_access_rows,
    patient_events_page,
    usernames,
    views_outside_clinic_hours,
)
from records.models import BreakGlassGrant

PAGE_SIZE = 50
CSV_COLUMNS = [
    "id",
    "occurred_at",
    "staff_id",
    "username",
    "role",
    "action",
    "patient_id",
    "object_id",
    "client_ip",
    "outcome",
    "reason",
    "prev_hash",
    "hash",
]


def _console_context() -> dict:
    return {
        "unreviewed": BreakGlassGrant.objects.filter(reviewed_at__isnull=True).count(),
        "lookup_form": PatientLookupForm(),
        "modes": PatientLookupForm.MODES,
    }


@privacy_officer_required
def console(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/console.html", _console_context())


ACCESS_LOG_COLUMNS: list[tuple[str, str | None]] = [
    ("Id", "id"),
    ("When", "when"),
    ("Staff", "staff"),
    ("Role", "role"),
    ("Action", "action"),
    ("Patient", "patient"),
    ("Object", None),
    ("Outcome", "outcome"),
    ("Reason", None),
    ("Address", None),
]
REPORT_COLUMNS: list[tuple[str, str | None]] = [
    ("When", "when"),
    ("Staff", "staff"),
    ("Action", "action"),
    ("Outcome", "outcome"),
    ("Why", None),
]


@require_http_methods(["GET", "POST"])
@privacy_officer_required
def access_log_search(request: HttpRequest) -> HttpResponse:
    """The search form POSTs, so what the privacy officer types never lands in a URL; the
    console's own links (a flag's staff member, a report's patient) open it by GET with ids."""
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = AccessLogSearchForm(data)
    sort = sorting.chosen(data, sorting.EVENT_COLUMNS)
    page = None
    if form.is_bound and form.is_valid():
        events = form.filter(AccessEvent.objects.order_by(*sorting.order_by(sort)))
        number = None if data is None or data.get("sort_by") else data.get("page")
        page = Paginator(events, PAGE_SIZE).get_page(number)
        names = usernames(e.staff_id for e in page)
        for event in page:
            event.username = names.get(event.staff_id or 0, "—")  # type: ignore[attr-defined]
            event.action_label = access_log.action_label(event.action)  # type: ignore[attr-defined]
        access_log.record(
            request,
            access_log.ACCESS_LOG_SEARCHED,
            patient_id=form.cleaned_data.get("patient_id"),
        )
    return render(
        request,
        "privacy/access_log.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "headers": sorting.headers(sort, ACCESS_LOG_COLUMNS),
        },
    )


@privacy_officer_required
@require_POST
def access_log_csv(request: HttpRequest) -> HttpResponse:
    form = AccessLogSearchForm(request.POST)
    if not form.is_valid():
        return render(request, "privacy/access_log.html", {"form": form}, status=400)
    # Built in memory inside the request's transaction: a streamed body would be read after
    # the transaction (and with it the privacy officer's database role) has ended.
    events = list(form.filter(AccessEvent.objects.order_by("id")))
    names = usernames(e.staff_id for e in events)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.id,
                e.occurred_at.isoformat(),
                e.staff_id or "",
                names.get(e.staff_id or 0, ""),
                e.role,
                e.action,
                e.patient_id or "",
                e.object_id,
                e.client_ip or "",
                e.outcome,
                e.reason,
                e.prev_hash,
                e.hash,
            ]
        )
    access_log.record(
        request,
        access_log.EXPORT,
        patient_id=form.cleaned_data.get("patient_id"),
        object_id="access_log.csv",
        outcome=f"{len(events)} rows",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response


@sensitive_post_parameters()
@sensitive_variables()
@require_POST
@privacy_officer_required
def patient_find(request: HttpRequest) -> HttpResponse:
    """Find a patient by last name and date of birth, SSN or MRN (POSTed, so nothing typed lands
    in a URL), through the blind indexes as the front desk's search does. One match opens the
    report; several are listed (name and MRN only); each patient shown is logged."""
    form = PatientLookupForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "privacy/console.html",
            {**_console_context(), "lookup_form": form},
            status=400,
        )
    found = form.matches()
    mode = form.cleaned_data["mode"]
    if not found:
        access_log.record(request, access_log.PATIENT_SEARCH, outcome="no_match", reason=mode)
        messages.error(request, "No patient matches.")
        return redirect("privacy:console")
    for patient in found:
        access_log.record(request, access_log.PATIENT_SEARCH, patient_id=patient.pk, reason=mode)
    if len(found) == 1:
        return redirect("privacy:patient-report", patient_id=found[0].pk)
    return render(
        request,
        "privacy/console.html",
        {**_console_context(), "matches": found},
    )


@privacy_officer_required
def patient_report(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    sort = sorting.chosen(request.GET, sorting.EVENT_COLUMNS)
    page = patient_events_page(patient.pk, sort, request.GET.get("page"), PAGE_SIZE)
    rows = patient_access_rows(patient.pk, list(page))
    for event in page:
        event.action_label = access_log.action_label(event.action)  # type: ignore[attr-defined]
    grants = BreakGlassGrant.objects.filter(patient_id=patient.pk).order_by("-starts_at")
    grant_names = usernames(g.staff_id for g in grants)
    access_log.record(request, access_log.ACCESS_REPORT_VIEWED, patient_id=patient.pk)
    return render(
        request,
        "privacy/patient_report.html",
        {
            "patient": patient,
            "page": page,
            "rows": rows,
            "grants": [(g, grant_names.get(g.staff_id, "—")) for g in grants],
            "headers": sorting.headers(sort, REPORT_COLUMNS),
            "query": urlencode({"sort": sort}),
        },
    )


@privacy_officer_required
def flags(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    opens, closes = clinic_hours()
    return render(
        request,
        "privacy/flags.html",
        {
            "outside_care_team": charts_outside_care_team(),
            "outside_hours": views_outside_clinic_hours(),
            "threshold": settings.PRIVACY_FLAG_OUTSIDE_CARE_TEAM,
            "opens": opens,
            "closes": closes,
        },
    )
