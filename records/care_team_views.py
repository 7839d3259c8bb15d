"""Care teams: the front desk assigns and ends; a treating clinician sees theirs read-only.

Only the front desk role may write `care_team` in the database (records/db_grants.py): row-level
security on clinical records reads this table, so a clinician able to add themselves could
grant themselves any patient.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic import access_log, roles
from clinic.access import group_required, refuse
from clinic.staff import staff_group
from patients.access import get_patient_for_user
from patients.models import SHOWN_IN_HEADER, PatientIdentity
from records.access import get_patient_for_clinician, refuse_outside_care_team
from records.forms import CareTeamAddForm, CareTeamEndForm
from records.models import CareTeamMember
from records.services import care_team_add, care_team_end


def _care_team_page(
    request: HttpRequest,
    patient: PatientIdentity,
    add_form: CareTeamAddForm | None,
    end_form: CareTeamEndForm | None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    members = (
        CareTeamMember.objects.filter(patient=patient)
        .select_related("staff")
        .order_by("-starts_on", "-pk")
    )
    rows = [
        {
            "member": member,
            "status": (
                "ended"
                if member.ends_on and member.ends_on < today
                else "upcoming"
                if member.starts_on > today
                else "current"
            ),
        }
        for member in members
    ]
    return render(
        request,
        "records/care_team.html",
        {
            "patient": patient,
            "rows": rows,
            "add_form": add_form,
            "end_form": end_form,
            "may_edit": add_form is not None,
        },
        status=status,
    )


@group_required(roles.FRONT_DESK, roles.CLINICIAN)
@refuse_outside_care_team
def care_team(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    if staff_group(request.user) == roles.CLINICIAN:
        if request.method != "GET":
            raise refuse(request, patient_id=patient_id, reason="read-only")
        patient = get_patient_for_clinician(request, patient_id, SHOWN_IN_HEADER, with_facts=True)
        access_log.record(request, access_log.CHART_VIEWED, patient_id=patient.pk)
        return _care_team_page(request, patient, None, None)

    patient = get_patient_for_user(
        request, patient_id, write=True, fields=SHOWN_IN_HEADER, with_facts=True
    )
    add_form = CareTeamAddForm(request.POST or None, patient=patient)
    if request.method == "POST" and add_form.is_valid():
        member = care_team_add(patient=patient, **add_form.cleaned_data)
        access_log.record(
            request,
            access_log.CARE_TEAM_CHANGED,
            patient_id=patient.pk,
            object_id=member.pk,
            reason="added",
        )
        messages.success(request, "Clinician added to the care team.")
        return redirect("records:care-team", patient_id=patient.pk)
    if request.method != "POST":
        access_log.record(request, access_log.CHART_VIEWED, patient_id=patient.pk)
    return _care_team_page(request, patient, add_form, CareTeamEndForm(patient=patient))


@require_POST
@group_required(roles.FRONT_DESK)
def care_team_end_view(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, write=True)
    end_form = CareTeamEndForm(request.POST, patient=patient)
    if not end_form.is_valid():
        messages.error(request, "That assignment is not current; nothing was changed.")
        return redirect("records:care-team", patient_id=patient.pk)
    member = care_team_end(member=end_form.cleaned_data["member"])
    access_log.record(
        request,
        access_log.CARE_TEAM_CHANGED,
        patient_id=patient.pk,
        object_id=member.pk,
        reason="ended",
    )
    messages.success(request, "Assignment ended; access stops now.")
    return redirect("records:care-team", patient_id=patient.pk)


@group_required(roles.CLINICIAN)
def my_patients(request: HttpRequest) -> HttpResponse:
    """The signed-in clinician's current care-team patients (names are for the treating
    clinician; sorted here because encrypted names cannot be sorted in SQL)."""
    members = (
        CareTeamMember.objects.active()
        .filter(staff_id=request.user.pk)
        .select_related("patient")
        .order_by("patient_id", "starts_on")
    )
    patients = {member.patient_id: member for member in members}
    rows = sorted(
        patients.values(),
        key=lambda m: (m.patient.last_name.casefold(), m.patient.first_name.casefold()),
    )
    return render(request, "records/my_patients.html", {"members": rows})
