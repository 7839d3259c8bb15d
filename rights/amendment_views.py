"""Amendment requests (45 CFR 164.526). The privacy officer records a request for a signed visit
note (routed to the note's author), a chart entry (routed to who recorded it, or the care-team
clinician) or a demographic field (decided by the privacy officer), extends it once, and after a
denial records the patient's statement of disagreement and the clinic's rebuttal; the decider
accepts (a note gets a signed addendum, anything else an amendment entry linked to it; the item
is never overwritten) or denies it with a ground and a written reason. Every page and step is
an access-log event tied to the patient; the database checks each write again."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from chart.models import Allergy, Medication, Problem, VitalSigns
from clinic import access_log, roles
from clinic.access import group_required, not_found
from privacy.access import get_patient_identity_for_privacy_officer, privacy_officer_required
from records.models import ClinicalRecord
from rights import amendment_services as services
from rights.access import get_amendment_for_privacy_officer, redirect_to_patient_by_mrn
from rights.amendment_forms import ACCEPT, AmendmentRequestForm, DecisionForm, TextForm
from rights.amendment_models import (
    ALLERGY,
    DEMOGRAPHIC,
    MEDICATION,
    NOTE,
    PROBLEM,
    TARGET_COLUMNS,
    VITALS,
    AmendmentEntry,
)
from rights.models import DENIED, AmendmentRequest

TEXTS = {
    "extend": "Written reason for the 30-day extension (given to the patient)",
    "disagreement": "The patient's statement of disagreement (as the patient wrote it)",
    "rebuttal": "The clinic's rebuttal (a copy goes to the patient)",
}


def _amendable_visits(patient_id: uuid.UUID) -> list[tuple[str, date, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_id, visit_date, signed_by_id FROM amendable_visits(%s)",
            [str(patient_id)],
        )
        return [(str(r), d, a) for r, d, a in cursor.fetchall()]


def _amendable_items(
    patient_id: uuid.UUID,
) -> list[tuple[str, str, datetime, str | None, datetime | None, int | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, item_id, recorded_at, detail, taken_at, decider FROM amendable_items(%s)",
            [str(patient_id)],
        )
        return [(k, str(i), r, d, t, a) for k, i, r, d, t, a in cursor.fetchall()]


@require_POST
@sensitive_post_parameters("mrn")
@privacy_officer_required
def amendment_find(request: HttpRequest) -> HttpResponse:
    return redirect_to_patient_by_mrn(request, "rights:amendment-create")


@sensitive_post_parameters("requested")
@sensitive_variables("form")
@privacy_officer_required
def amendment_create(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = get_patient_identity_for_privacy_officer(request, patient_id)
    visits = _amendable_visits(patient.pk)
    items = _amendable_items(patient.pk)
    form = AmendmentRequestForm(request.POST or None, visits=visits, items=items)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = form.target()
        amendment = AmendmentRequest(
            patient_id=patient.pk,
            target_kind=target.kind,
            routed_to_id=target.routed_to,
            received_on=data["received_on"],
            received_how=data["received_how"],
            requested=data["requested"],
        )
        if target.kind == DEMOGRAPHIC:
            amendment.demographic_field = target.key
        else:
            setattr(amendment, TARGET_COLUMNS[target.kind], uuid.UUID(target.key))
        created = services.amendment_record(request, amendment=amendment)
        messages.success(request, f"Amendment request recorded; due {created.due_on:%Y-%m-%d}.")
        return redirect("rights:amendment-detail", patient_id=patient.pk, amendment_id=created.pk)
    return render(
        request,
        "rights/amendment_form.html",
        {"patient": patient, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _entry(amendment: AmendmentRequest) -> AmendmentEntry | None:
    """The amendment entry of an accepted demographic request (the privacy officer reads only
    those; a chart entry's amendment is clinical text, shown to its decider)."""
    if amendment.target_kind != DEMOGRAPHIC:
        return None
    return AmendmentEntry.objects.filter(amendment_id=amendment.pk).first()


def _detail(
    request: HttpRequest, amendment: AmendmentRequest, *, form: TextForm | None = None,
    step: str = "", status: int = 200, decision: DecisionForm | None = None,
) -> HttpResponse:  # fmt: skip
    patient = get_patient_identity_for_privacy_officer(request, amendment.patient_id)
    access_log.record(
        request,
        access_log.AMENDMENT_REQUEST_VIEWED,
        patient_id=patient.pk,
        object_id=amendment.pk,
    )
    today = timezone.localdate()
    steps = {}
    if amendment.may_extend and today <= amendment.due_on:
        steps["extend"] = TextForm(label=TEXTS["extend"])
    if amendment.outcome == DENIED and amendment.disagreement is None:
        steps["disagreement"] = TextForm(label=TEXTS["disagreement"])
    if amendment.disagreement is not None and amendment.rebuttal is None:
        steps["rebuttal"] = TextForm(label=TEXTS["rebuttal"])
    if form is not None:
        steps[step] = form
    decide = None
    if amendment.target_kind == DEMOGRAPHIC and amendment.is_open:
        decide = decision if decision is not None else DecisionForm()
    return render(
        request,
        "rights/amendment_detail.html",
        {
            "patient": patient,
            "amendment": amendment,
            "overdue": amendment.is_overdue(today),
            "steps": steps,
            "decide": decide,
            "entry": _entry(amendment),
            "titles": {"extend": "Extend once by 30 days", "disagreement": "Statement of "
                       "disagreement", "rebuttal": "Rebuttal"},
        },
        status=status,
    )  # fmt: skip


@privacy_officer_required
def amendment_detail(
    request: HttpRequest, patient_id: uuid.UUID, amendment_id: uuid.UUID
) -> HttpResponse:
    return _detail(request, get_amendment_for_privacy_officer(request, patient_id, amendment_id))


@require_POST
@sensitive_post_parameters("text")
@sensitive_variables("form")
@privacy_officer_required
def amendment_step(
    request: HttpRequest, patient_id: uuid.UUID, amendment_id: uuid.UUID, step: str
) -> HttpResponse:
    amendment = get_amendment_for_privacy_officer(request, patient_id, amendment_id)
    if step not in TEXTS:
        raise not_found(request, patient_id=patient_id, object_id=amendment_id)
    form = TextForm(request.POST, label=TEXTS[step])
    allowed = {
        "extend": amendment.may_extend and timezone.localdate() <= amendment.due_on,
        "disagreement": amendment.outcome == DENIED and amendment.disagreement is None,
        "rebuttal": amendment.disagreement is not None and amendment.rebuttal is None,
    }[step]
    if not allowed:
        messages.error(request, "That step is not open for this request. Nothing was changed.")
        return redirect("rights:amendment-detail", patient_id=patient_id, amendment_id=amendment_id)
    if not form.is_valid():
        return _detail(request, amendment, form=form, step=step, status=400)
    text = form.cleaned_data["text"]
    if step == "extend":
        services.amendment_extend(request, amendment=amendment, reason=text)
    elif step == "disagreement":
        services.amendment_disagreement(request, amendment=amendment, text=text)
    else:
        services.amendment_rebuttal(request, amendment=amendment, text=text)
    messages.success(request, "Recorded.")
    return redirect("rights:amendment-detail", patient_id=patient_id, amendment_id=amendment_id)


def _decide(request: HttpRequest, amendment: AmendmentRequest, data: dict[str, str]) -> None:
    if data["decision"] == ACCEPT:
        services.amendment_accept(
            request, amendment=amendment, text=data["amendment"], notify=data["notify"]
        )
    else:
        services.amendment_deny(
            request, amendment=amendment, ground=data["denial_ground"], reason=data["denial_reason"]
        )


@require_POST
@sensitive_post_parameters("amendment", "notify", "denial_reason")
@sensitive_variables("form")
@privacy_officer_required
def amendment_decide_demographic(
    request: HttpRequest, patient_id: uuid.UUID, amendment_id: uuid.UUID
) -> HttpResponse:
    """The privacy officer decides a request to amend a demographic field: demographics are the
    patient's registration data, kept by the front desk, not a clinician's entry."""
    amendment = get_amendment_for_privacy_officer(request, patient_id, amendment_id)
    if amendment.target_kind != DEMOGRAPHIC:
        raise not_found(request, patient_id=patient_id, object_id=amendment_id)
    if not amendment.is_open:
        messages.error(request, "This request is already decided. Nothing was changed.")
        return redirect("rights:amendment-detail", patient_id=patient_id, amendment_id=amendment_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, amendment, decision=form, status=400)
    _decide(request, amendment, form.cleaned_data)
    messages.success(request, "Decision recorded.")
    return redirect("rights:amendment-detail", patient_id=patient_id, amendment_id=amendment_id)


# --- the note's author or the chart entry's recorder (a clinician) ----------------------------

clinician_required = group_required(roles.CLINICIAN)


@clinician_required
def routed_list(request: HttpRequest) -> HttpResponse:
    """The requests routed to the signed-in clinician (row-level security shows only those)."""
    # Filtered as well as row-level security: a clinician also reads the denied requests about
    # its patients' chart entries (shown under the entry), which are not its to decide.
    routed = list(
        AmendmentRequest.objects.filter(routed_to_id=request.user.pk).order_by("outcome", "due_on")[
            :100
        ]
    )
    for patient_id in {a.patient_id for a in routed}:
        access_log.record(request, access_log.ACCESS_REQUESTS_LISTED, patient_id=patient_id)
    return render(
        request,
        "rights/amendments_routed.html",
        {"routed": routed, "today": timezone.localdate()},
    )


@sensitive_post_parameters("amendment", "notify", "denial_reason")
@sensitive_variables("form")
@clinician_required
def amendment_decide(request: HttpRequest, amendment_id: uuid.UUID) -> HttpResponse:
    try:
        amendment = AmendmentRequest.objects.get(pk=amendment_id, routed_to_id=request.user.pk)
    except AmendmentRequest.DoesNotExist:
        raise not_found(request, object_id=amendment_id) from None
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST" and not amendment.is_open:
        messages.error(request, "This request is already decided. Nothing was changed.")
        return redirect("rights:amendment-decide", amendment_id=amendment.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["decision"] == ACCEPT and not _item_visible(amendment):
            messages.error(
                request,
                "You no longer see this patient's record (care team), so you cannot amend it. "
                "Nothing was changed.",
            )
            return redirect("rights:amendment-decide", amendment_id=amendment.pk)
        _decide(request, amendment, data)
        messages.success(request, "Decision recorded.")
        return redirect("rights:amendment-decide", amendment_id=amendment.pk)
    if request.method == "POST":
        status = 400
    access_log.record(
        request,
        access_log.AMENDMENT_REQUEST_VIEWED,
        patient_id=amendment.patient_id,
        object_id=amendment.pk,
    )
    return render(
        request,
        "rights/amendment_decide.html",
        {
            "amendment": amendment,
            "form": form,
            "item_url": _item_url(amendment),
            "entry": AmendmentEntry.objects.filter(amendment_id=amendment.pk).first(),
        },
        status=status,
    )


ITEM_MODELS = {PROBLEM: Problem, ALLERGY: Allergy, MEDICATION: Medication, VITALS: VitalSigns}


def _item_visible(amendment: AmendmentRequest) -> bool:
    """Whether the decider still sees the item (row-level security answers)."""
    if amendment.target_kind == NOTE:
        return ClinicalRecord.objects.filter(pk=amendment.target_id).exists()
    model = ITEM_MODELS[amendment.target_kind]
    return model._default_manager.filter(pk=amendment.target_id).exists()


def _item_url(amendment: AmendmentRequest) -> str:
    """Where the decider sees the item: the visit, or the chart entry's page."""
    if amendment.target_kind == NOTE:
        return reverse("records:visit-detail", args=[amendment.record_id])
    name = {
        PROBLEM: "problem-edit",
        ALLERGY: "allergy-edit",
        MEDICATION: "medication-edit",
        VITALS: "vitals-in-error",
    }
    return reverse(f"chart:{name[amendment.target_kind]}", args=[amendment.target_id])
