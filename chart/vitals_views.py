"""Vital signs: record a set, see the latest, a trend per measure (SVG and a table), mark a set
entered in error (see chart/views.py for the rules)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from chart import selectors, services
from chart.access import get_chart_patient, get_item_for_user
from chart.forms import VitalSignsForm
from chart.models import BMI, MEASURES, MEASURES_BY_COLUMN, VitalSigns
from chart.svg import Series, line_chart
from chart.views import changed, chart_page, recorded, viewed
from clinic import roles
from clinic.access import group_required, not_found
from records.access import refuse_outside_care_team

# A trend page per measure; blood pressure draws both of its values on one chart.
TRENDS = {
    "blood-pressure": ("Blood pressure", "mmHg", ("systolic", "diastolic")),
    "heart-rate": ("Heart rate", "/min", ("heart_rate",)),
    "temperature": ("Body temperature", "°C", ("temperature",)),
    "respiratory-rate": ("Respiratory rate", "/min", ("respiratory_rate",)),
    "spo2": ("Oxygen saturation (SpO2)", "%", ("spo2",)),
    "weight": ("Body weight", "kg", ("weight",)),
    "height": ("Body height", "cm", ("height",)),
    "bmi": ("Body mass index", "kg/m²", ("bmi",)),
}


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def vital_signs(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    initial = {"taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    form = VitalSignsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        vitals = services.vital_signs_record(
            patient=chart.patient,
            author=request.user,
            taken_at=form.cleaned_data["taken_at"],
            **form.measurements,
        )
        recorded(request, vitals, "vital_signs")
        messages.success(request, "Vital signs recorded.")
        return redirect("chart:vitals", patient_id=patient_id)
    viewed(request, chart, "vital_signs")
    sets = selectors.vital_signs(patient_id, limit=20)
    return chart_page(
        request,
        "chart/vitals.html",
        chart,
        "vitals",
        form=form,
        sets=sets,
        measures=MEASURES,
        latest=selectors.latest_values(sets),
        trends=[(slug, title) for slug, (title, _unit, _cols) in TRENDS.items()],
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def vital_signs_trend(request: HttpRequest, patient_id: uuid.UUID, measure: str) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    if measure not in TRENDS:
        raise not_found(request, patient_id=patient_id)
    title, unit, columns = TRENDS[measure]
    sets = list(reversed(selectors.vital_signs(patient_id)))
    series = []
    for column in columns:
        known = MEASURES_BY_COLUMN.get(column, BMI)
        points = [(v.taken_at, getattr(v, column)) for v in sets if getattr(v, column) is not None]
        series.append(Series(f"{known.label} ({known.loinc})", f"series-{column}", points))
    rows = [
        (v.taken_at, [getattr(v, column) for column in columns])
        for v in sets
        if any(getattr(v, column) is not None for column in columns)
    ]
    viewed(request, chart, "vital_signs_trend")
    return chart_page(
        request,
        "chart/vitals_trend.html",
        chart,
        "vitals",
        title=title,
        unit=unit,
        series=series,
        svg=line_chart(f"trend-{measure}", f"{title} over time", unit, series),
        rows=list(reversed(rows)),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def vital_signs_in_error(request: HttpRequest, vitals_id: uuid.UUID) -> HttpResponse:
    vitals = get_item_for_user(request, VitalSigns, vitals_id)
    chart = get_chart_patient(request, vitals.patient_id)
    if request.method == "POST" and not vitals.entered_in_error:
        services.vital_signs_mark_in_error(vitals=vitals)
        changed(request, vitals, "vital_signs")
        messages.success(request, "Measurements marked entered in error.")
        return redirect("chart:vitals", patient_id=vitals.patient_id)
    viewed(request, chart, "vital_signs", vitals.pk)
    return chart_page(
        request,
        "chart/vitals_error.html",
        chart,
        "vitals",
        item=vitals,
        measures=MEASURES,
        versions=selectors.history(vitals),
    )
