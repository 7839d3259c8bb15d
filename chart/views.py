"""The chart: summary, allergies, medications (problems and vital signs in their own modules).

Fetch -> form -> save -> redirect. Clinicians only: everyone else is refused (403, logged with
the patient); a clinician outside the care team gets the break-the-glass page (403, logged),
exactly as for visits; the database refuses the same (chart/db_grants.py). Every page view and
every change is an access-log event; the history trigger keeps every version.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from chart import selectors, services
from chart.access import ChartPatient, get_chart_patient, get_item_for_user
from chart.forms import AllergyForm, MedicationForm, NoKnownAllergiesForm
from chart.models import Allergy, Medication
from clinic import access_log, roles
from clinic.access import group_required
from records.access import refuse_outside_care_team

SUMMARY = "summary"


def viewed(request: HttpRequest, chart: ChartPatient, section: str, object_id: Any = "") -> None:
    access_log.record(
        request,
        access_log.CHART_SECTION_VIEWED,
        patient_id=chart.patient.pk,
        object_id=object_id,
        reason=section,
    )


def recorded(request: HttpRequest, item: Any, kind: str) -> None:
    access_log.record(
        request,
        access_log.CHART_ITEM_RECORDED,
        patient_id=item.patient_id,
        object_id=item.pk,
        reason=kind,
    )


def changed(request: HttpRequest, item: Any, kind: str) -> None:
    access_log.record(
        request,
        access_log.CHART_ITEM_CHANGED,
        patient_id=item.patient_id,
        object_id=item.pk,
        reason=kind,
    )


def chart_page(
    request: HttpRequest, template: str, chart: ChartPatient, section: str, **context: Any
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "banner": selectors.banner(chart),
            "patient": chart.patient,
            "section": section,
            **context,
        },
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def summary(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    viewed(request, chart, SUMMARY)
    return chart_page(
        request,
        "chart/summary.html",
        chart,
        SUMMARY,
        problems=selectors.problems(patient_id, active_only=True),
        medications=selectors.medications(patient_id, current_only=True),
        latest=selectors.latest_values(selectors.vital_signs(patient_id, limit=10)),
        visits=selectors.last_visits(patient_id),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def allergies(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    form = AllergyForm(request.POST or None, new=True)
    if request.method == "POST" and form.is_valid():
        allergy = services.allergy_create(
            patient=chart.patient, author=request.user, **form.cleaned_data
        )
        recorded(request, allergy, "allergy")
        messages.success(request, "Allergy recorded.")
        return redirect("chart:allergies", patient_id=patient_id)
    viewed(request, chart, "allergies")
    every = Allergy.objects.filter(patient_id=patient_id).order_by("status", "created_at")
    return chart_page(
        request,
        "chart/allergies.html",
        chart,
        "allergies",
        form=form,
        all_allergies=list(every),
        nka_form=NoKnownAllergiesForm(),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def no_known_allergies(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    form = NoKnownAllergiesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if selectors.active_allergies(patient_id):
            form.add_error(None, "An active allergy is on file: resolve it or mark it in error.")
        else:
            services.no_known_allergies_record(patient=chart.patient, author=request.user)
            access_log.record(
                request,
                access_log.CHART_ITEM_RECORDED,
                patient_id=patient_id,
                object_id=patient_id,
                reason="no_known_allergies",
            )
            messages.success(request, "No known allergies recorded.")
            return redirect("chart:allergies", patient_id=patient_id)
    viewed(request, chart, "allergies")
    return chart_page(
        request,
        "chart/allergies.html",
        chart,
        "allergies",
        form=AllergyForm(new=True),
        nka_form=form,
        all_allergies=list(Allergy.objects.filter(patient_id=patient_id)),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def allergy_edit(request: HttpRequest, allergy_id: uuid.UUID) -> HttpResponse:
    allergy = get_item_for_user(request, Allergy, allergy_id)
    chart = get_chart_patient(request, allergy.patient_id)
    editable = allergy.status != Allergy.ENTERED_IN_ERROR
    form = AllergyForm(request.POST or None, instance=allergy) if editable else None
    if request.method == "POST" and form is not None and form.is_valid():
        services.allergy_update(allergy=allergy, author=request.user, **form.cleaned_data)
        changed(request, allergy, "allergy")
        messages.success(request, "Allergy updated.")
        return redirect("chart:allergies", patient_id=allergy.patient_id)
    if form is not None and form.is_bound:
        allergy.refresh_from_db()  # the form's failed validation touched the instance
    viewed(request, chart, "allergy", allergy.pk)
    return chart_page(
        request,
        "chart/item_edit.html",
        chart,
        "allergies",
        form=form,
        item=allergy,
        kind="Allergy",
        versions=selectors.history(allergy),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def medications(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    form = MedicationForm(request.POST or None, new=True)
    if request.method == "POST" and form.is_valid():
        medication = services.medication_create(
            patient=chart.patient, author=request.user, **form.cleaned_data
        )
        recorded(request, medication, "medication")
        messages.success(request, "Medication recorded.")
        return redirect("chart:medications", patient_id=patient_id)
    viewed(request, chart, "medications")
    return chart_page(
        request,
        "chart/medications.html",
        chart,
        "medications",
        form=form,
        all_medications=selectors.medications(patient_id),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def medication_edit(request: HttpRequest, medication_id: uuid.UUID) -> HttpResponse:
    medication = get_item_for_user(request, Medication, medication_id)
    chart = get_chart_patient(request, medication.patient_id)
    editable = medication.status != Medication.ENTERED_IN_ERROR
    form = MedicationForm(request.POST or None, instance=medication) if editable else None
    if request.method == "POST" and form is not None and form.is_valid():
        services.medication_update(medication=medication, **form.cleaned_data)
        changed(request, medication, "medication")
        messages.success(request, "Medication updated.")
        return redirect("chart:medications", patient_id=medication.patient_id)
    if form is not None and form.is_bound:
        medication.refresh_from_db()
    viewed(request, chart, "medication", medication.pk)
    return chart_page(
        request,
        "chart/item_edit.html",
        chart,
        "medications",
        form=form,
        item=medication,
        kind="Medication",
        versions=selectors.history(medication),
    )
