"""Patient pages: search, registration, summary, revealing one identifier, demographics edit.

Each view reads fetch -> form -> save -> redirect. Access goes through patients/access.py; every
meaningful access appends an access-log event in the request's own transaction. Searches are
POSTed, so names and SSNs never reach a URL, an access log line or the browser history, and the
event records only the kind of search.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from clinic import access_log, roles
from clinic.access import refuse
from clinic.staff import staff_group
from patients.access import EDITORS, get_patient_for_user, require_patient_role
from patients.forms import PatientDemographicsForm, PatientSearchForm, RevealIdentifierForm
from patients.models import SHOWN_IN_SUMMARY, PatientIdentity
from patients.services import DuplicatePatient, patient_register, patient_update_demographics
from rights import patient_facts
from rights.restriction_services import communication_in_force

DUPLICATE_MESSAGE = "A patient with this SSN is already registered. Open their record instead."


@login_required
@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    require_patient_role(request)
    results: list[PatientIdentity] | None = None
    if request.method == "POST":
        form = PatientSearchForm(request.POST)
        if form.is_valid():
            results = form.search()
            log_search(request, form.cleaned_data["mode"], results)
            # Do not echo what was typed (an SSN on screen): results come with an empty form.
            form = PatientSearchForm()
    else:
        form = PatientSearchForm()
    return render(
        request,
        "patients/search.html",
        {
            "form": form,
            "modes": PatientSearchForm.MODES,
            "results": results,
            "may_register": staff_group(request.user) in EDITORS,
        },
    )


def log_search(request: HttpRequest, mode: str, results: list[PatientIdentity]) -> None:
    """One event per patient shown (so "who saw this patient" finds it), or one for no match."""
    if not results:
        access_log.record(request, access_log.PATIENT_SEARCH, outcome="no_match", reason=mode)
    for patient in results:
        access_log.record(request, access_log.PATIENT_SEARCH, patient_id=patient.pk, reason=mode)


@login_required
@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    require_patient_role(request, write=True)
    duplicate_id = None
    if request.method == "POST":
        form = PatientDemographicsForm(request.POST)
        if form.is_valid():
            try:
                patient = patient_register(demographics=form.cleaned_data)
            except DuplicatePatient as duplicate:
                duplicate_id = duplicate.patient_id
                form.add_error("ssn", DUPLICATE_MESSAGE)
                access_log.record(
                    request,
                    access_log.PATIENT_REGISTERED,
                    patient_id=duplicate_id,
                    outcome="duplicate",
                    reason="ssn",
                )
            else:
                access_log.record(request, access_log.PATIENT_REGISTERED, patient_id=patient.pk)
                return redirect("patients:detail", patient_id=patient.pk)
    else:
        form = PatientDemographicsForm()
    return render(request, "patients/register.html", {"form": form, "duplicate_id": duplicate_id})


@login_required
@require_http_methods(["GET"])
def detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(
        request,
        patient_id,
        fields=SHOWN_IN_SUMMARY,
        with_may_see=staff_group(request.user) == roles.CLINICIAN,
        with_facts=True,
    )
    access_log.record(request, access_log.CHART_VIEWED, patient_id=patient.pk)
    return _render_summary(request, patient)


@login_required
@sensitive_post_parameters()
@require_POST
def reveal(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, with_facts=True)
    form = RevealIdentifierForm(request.POST)
    if not form.is_valid():
        return _render_summary(request, patient, status=400)
    identifier = form.cleaned_data["identifier"]
    if staff_group(request.user) == roles.CLINICIAN and not clinician_may_see(patient.pk):
        # Clinicians reveal identifiers of their care team's patients (or under a grant).
        raise refuse(request, patient_id=patient.pk, reason="not on care team")
    access_log.record(
        request, access_log.IDENTIFIER_REVEALED, patient_id=patient.pk, reason=identifier
    )
    return _render_summary(request, patient, revealed=identifier)


DEMOGRAPHICS_FORM = "demographics_form"


def clinician_may_see(patient_id: uuid.UUID) -> bool:
    """The database's answer (records' row-level security condition, as a function)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clinic_clinician_may_see(%s)", [patient_id])
        return bool(cursor.fetchone()[0])


def _may_record_visit(request: HttpRequest, patient: PatientIdentity) -> bool:
    if staff_group(request.user) != roles.CLINICIAN:
        return False
    # Read with the patient's row where the view asked for it (one statement less).
    known = getattr(patient, "may_see", None)
    return bool(known) if known is not None else clinician_may_see(patient.pk)


def _confidential_contact(request: HttpRequest, patient: PatientIdentity) -> object | None:
    """164.522(b): the confidential communications in force, if any. The front desk reads the
    alternative contact (shown in place of the default: an event); a clinician who may see the
    patient only that they are in force (the database gives it no more: rights/db_communications).
    """
    group = staff_group(request.user)
    if group not in (roles.FRONT_DESK, roles.CLINICIAN):
        return None
    if not patient_facts.shows(request, patient.pk, patient_facts.CONFIDENTIAL):
        return None
    in_force = communication_in_force(patient.pk, with_contact=group == roles.FRONT_DESK)
    if in_force is not None and group == roles.FRONT_DESK:
        access_log.record(
            request,
            access_log.CONFIDENTIAL_CONTACT_SHOWN,
            patient_id=patient.pk,
            object_id=in_force.pk,
        )
    return in_force


def _render_summary(
    request: HttpRequest, patient: PatientIdentity, *, revealed: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "show_ssn": revealed == RevealIdentifierForm.SSN,
            "show_dob": revealed == RevealIdentifierForm.DATE_OF_BIRTH,
            "may_edit": staff_group(request.user) in EDITORS,
            # Offered only where it will not be refused: a clinician on the care team (or
            # under a grant), by the database's own condition.
            "may_record_visit": _may_record_visit(request, patient),
            "confidential": _confidential_contact(request, patient),
        },
        status=status,
    )


@login_required
@sensitive_post_parameters()
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, write=True)
    duplicate_id = None
    if request.method == "POST":
        form = PatientDemographicsForm(request.POST, instance=patient)
        if form.is_valid():
            try:
                changed = patient_update_demographics(
                    patient_id=patient.pk, demographics=form.cleaned_data
                )
            except DuplicatePatient as duplicate:
                duplicate_id = duplicate.patient_id
                form.add_error("ssn", DUPLICATE_MESSAGE)
            else:
                access_log.record(
                    request,
                    access_log.DEMOGRAPHICS_CHANGED,
                    patient_id=patient.pk,
                    outcome="ok" if changed else "unchanged",
                    # Field names only, never values.
                    reason=",".join(changed),
                )
                return redirect("patients:detail", patient_id=patient.pk)
    else:
        form = PatientDemographicsForm(instance=patient)
    # The form shows the full identifiers (SSN, date of birth, phone...) the summary masks:
    # opening it is a reveal, logged like one (no values, only what was shown).
    access_log.record(
        request,
        access_log.IDENTIFIER_REVEALED,
        patient_id=patient.pk,
        reason=DEMOGRAPHICS_FORM,
    )
    return render(
        request,
        "patients/edit.html",
        {
            "form": form,
            "patient": patient,
            "duplicate_id": duplicate_id,
            # 164.522(b): the form keeps the default contact editable (it is the patient's
            # record) but says, beside it, to contact the patient only at the alternative.
            "confidential": _confidential_contact(request, patient),
        },
    )
