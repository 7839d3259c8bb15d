"""How views reach clinical data (STYLE.md: one helper per model, the database decides again).

- `get_patient_for_clinician` asks PostgreSQL, under the request's role and staff id, the very
  condition row-level security applies to `clinical_records` (records/db_grants.py): on the care
  team today, or an active break-the-glass grant. It is a column of the patient's own row, so
  one statement fetches the patient and decides; the patient header's rights facts (restriction
  banner, amendments: rights/patient_facts.py) are columns of the same statement
  (patients/access.py `read_patient`). One source of truth, so the page and the
  database cannot disagree about who is "theirs".
- A clinician refused because the patient is not theirs gets `NotOnCareTeam`, which
  `refuse_outside_care_team` turns into a 403 page pointing to break the glass.
- `get_record_for_user` reads a record through row-level security; a record that is not the
  clinician's is refused like the patient's visit list (403 pointing to break the glass), and
  the refusal is tied to its patient. Only an unknown id is a 404.
Every refusal goes through clinic/access.py (logged, 403 or 404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic import access_log, roles
from clinic.access import not_found, refuse, require_group
from clinic.refused_patient import refused_patient_id
from clinic.staff import staff_group
from patients.access import get_patient_for_user, read_patient
from patients.models import SHOWN_IN_VISIT_FORM, PatientIdentity, not_shown_through
from records.db_grants import clinician_may_see
from records.models import ClinicalRecord

# The same predicate as a column of the patient's row (in get_patient_for_clinician).
MAY_SEE_COLUMN = RawSQL(  # noqa: S611 (constant SQL, no input)
    clinician_may_see('"patient_identities"."patient_id"'), (), output_field=BooleanField()
)
REASON_NOT_ON_CARE_TEAM = "not on care team"


class NotOnCareTeam(Exception):
    """A clinician asked for a patient who is neither on their care team nor under a grant."""

    def __init__(self, patient_id: uuid.UUID | str):
        super().__init__("not on care team")
        self.patient_id = patient_id


@dataclass(frozen=True)
class ChartAccess:
    patient: PatientIdentity
    # True: diagnoses and notes (treating clinician); False: visit dates and providers only.
    clinical: bool


def get_patient_for_clinician(
    request: HttpRequest,
    patient_id: uuid.UUID,
    fields: tuple[str, ...] | None = None,
    *,
    with_facts: bool = False,
) -> PatientIdentity:
    """A patient whose records the signed-in clinician may read and write (only `fields` read
    and decrypted: patients/models.py SHOWN_IN_*); `with_facts` for a page that shows the
    patient header (its rights facts in the same statement: patients/access.py
    `read_patient`)."""
    require_group(request, {roles.CLINICIAN}, patient_id=patient_id)
    patient = read_patient(
        request, patient_id, fields, with_facts=with_facts, may_see=MAY_SEE_COLUMN
    )
    if patient is None:
        raise not_found(request, patient_id=patient_id)
    if not patient.may_see:  # type: ignore[attr-defined]
        access_log.record_refusal(request, patient_id=patient_id, reason=REASON_NOT_ON_CARE_TEAM)
        raise NotOnCareTeam(patient_id)
    return patient


def get_chart_for_user(
    request: HttpRequest, patient_id: uuid.UUID, fields: tuple[str, ...] | None = None
) -> ChartAccess:
    """Front desk: the visit dates and providers of any patient. Clinician: their patients'
    full records. Everyone else: 403. Of the patient, only `fields` are read."""
    group = staff_group(request.user)
    if group == roles.FRONT_DESK:
        patient = get_patient_for_user(request, patient_id, fields=fields, with_facts=True)
        return ChartAccess(patient, clinical=False)
    if group == roles.CLINICIAN:
        patient = get_patient_for_clinician(request, patient_id, fields, with_facts=True)
        return ChartAccess(patient, clinical=True)
    raise refuse(request, patient_id=patient_id)


def get_record_for_user(request: HttpRequest, record_id: uuid.UUID) -> ClinicalRecord:
    """One clinical record, full (notes included), for a clinician who may see it.

    Refused the way the patient's visit list refuses (issue 16, item 6): another role gets 403,
    a clinician outside the care team `NotOnCareTeam` (403 with the way to break the glass), an
    unknown id 404. Each refusal of an existing record is logged with its patient, so it shows
    in that patient's access report; the patient is learnt through the database's narrow
    `clinic_refused_record_patient` (clinic/refused_patient.py), never shown beyond the 403.
    """
    if staff_group(request.user) != roles.CLINICIAN:
        patient_id = refused_patient_id("record", record_id)
        raise refuse(request, patient_id=patient_id, object_id=record_id)
    try:
        # Row-level security filters this query: another clinician's patient is "not found".
        # Of the patient, only what the visit pages show is read and decrypted (the header,
        # and the birth year the visit form checks a date against).
        return (
            ClinicalRecord.objects.select_related("patient", "provider")
            .defer(*not_shown_through("patient", SHOWN_IN_VISIT_FORM))
            .get(pk=record_id)
        )
    except ClinicalRecord.DoesNotExist:
        pass
    patient_id = refused_patient_id("record", record_id)
    if patient_id is None:
        raise not_found(request, object_id=record_id)
    access_log.record_refusal(
        request, patient_id=patient_id, object_id=record_id, reason=REASON_NOT_ON_CARE_TEAM
    )
    raise NotOnCareTeam(patient_id)


def refuse_outside_care_team(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Render the explanatory 403 page (with the way to break the glass) for NotOnCareTeam."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotOnCareTeam as refused:
            return render(
                request,
                "records/not_on_care_team.html",
                {"patient_id": refused.patient_id},
                status=403,
            )

    return wrapped
