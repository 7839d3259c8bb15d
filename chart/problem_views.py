"""The problem list: add, edit, resolve, re-activate (see chart/views.py for the rules)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from chart import selectors, services
from chart.access import ChartPatient, get_chart_patient, get_item_for_user
from chart.forms import ProblemForm, ProblemStatusForm
from chart.models import Problem
from chart.views import changed, chart_page, recorded, viewed
from clinic import roles
from clinic.access import group_required
from records import icd10
from records.access import refuse_outside_care_team


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def problems(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    chart = get_chart_patient(request, patient_id)
    form = ProblemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problem = services.problem_create(
            patient=chart.patient, author=request.user, **form.cleaned_data
        )
        recorded(request, problem, "problem")
        messages.success(request, "Problem added.")
        return redirect("chart:problems", patient_id=patient_id)
    viewed(request, chart, "problems")
    return chart_page(
        request,
        "chart/problems.html",
        chart,
        "problems",
        form=form,
        rows=selectors.problems(patient_id),
    )


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def problem_edit(request: HttpRequest, problem_id: uuid.UUID) -> HttpResponse:
    problem = get_item_for_user(request, Problem, problem_id)
    chart = get_chart_patient(request, problem.patient_id)
    form = ProblemForm(request.POST or None, instance=problem)
    if request.method == "POST" and form.is_valid():
        services.problem_update(problem=problem, **form.cleaned_data)
        changed(request, problem, "problem")
        messages.success(request, "Problem updated.")
        return redirect("chart:problems", patient_id=problem.patient_id)
    if form.is_bound:
        problem.refresh_from_db()
    return _edit_page(request, chart, problem, form, ProblemStatusForm(problem=problem))


@group_required(roles.CLINICIAN)
@refuse_outside_care_team
def problem_status(request: HttpRequest, problem_id: uuid.UUID) -> HttpResponse:
    problem = get_item_for_user(request, Problem, problem_id)
    chart = get_chart_patient(request, problem.patient_id)
    form = ProblemStatusForm(request.POST or None, problem=problem)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["action"] == "resolve":
            services.problem_resolve(problem=problem, resolved_on=form.cleaned_data["resolved_on"])
            messages.success(request, "Problem resolved.")
        else:
            services.problem_reactivate(problem=problem)
            messages.success(request, "Problem re-activated.")
        changed(request, problem, "problem")
        return redirect("chart:problems", patient_id=problem.patient_id)
    return _edit_page(request, chart, problem, ProblemForm(instance=problem), form)


def _edit_page(
    request: HttpRequest,
    chart: ChartPatient,
    problem: Problem,
    form: ProblemForm,
    status_form: ProblemStatusForm,
) -> HttpResponse:
    viewed(request, chart, "problem", problem.pk)
    return chart_page(
        request,
        "chart/problem_edit.html",
        chart,
        "problems",
        form=form,
        status_form=status_form,
        item=problem,
        description=icd10.description(problem.icd10_code),
        versions=selectors.history(problem),
    )
