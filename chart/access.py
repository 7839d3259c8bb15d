"""The one way chart views reach a patient and an item (STYLE.md: one helper per model).

- `get_chart_patient`: clinicians only (everyone else 403, logged with the patient). One
  statement fetches the patient and asks PostgreSQL the very condition row-level security
  applies to every chart table (records/db_grants.py `clinician_may_see`), plus whether the
  access rests on break the glass alone (the banner's marker) and whether "no known
  allergies" was stated. Not the clinician's patient: NotOnCareTeam, which
  records.access.refuse_outside_care_team answers with the 403 page pointing to break the glass,
  logged like the visits' refusals.
- `get_item_for_user`: one chart item through row-level security; an item of a patient the
  clinician may not see does not exist for them (404, logged).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

from django.db import models
from django.db.models import BooleanField, Exists, OuterRef
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from chart.models import AllergyReview
from clinic import access_log, roles
from clinic.access import REASON_NOT_FOUND, not_found, require_group
from patients.models import PatientIdentity
from records.access import MAY_SEE_COLUMN, REASON_NOT_ON_CARE_TEAM, NotOnCareTeam
from records.db_grants import ACTIVE_CARE_TEAM
from scheduling.care_team import booked_today

CHART_ROLES = frozenset({roles.CLINICIAN})
PATIENT_COLUMN = '"patient_identities"."patient_id"'
# On the care team today, standing or by a live appointment today (scheduling/care_team.py):
# the two paths that need no grant. Otherwise the chart is open through break the glass alone.
ON_CARE_TEAM_SQL = (
    "(EXISTS (SELECT 1 FROM care_team ct WHERE "  # noqa: S608 (constants only)
    f"{ACTIVE_CARE_TEAM} AND ct.patient_id = {PATIENT_COLUMN})"
    f" OR {booked_today(PATIENT_COLUMN)})"
)
ON_CARE_TEAM_COLUMN = RawSQL(  # noqa: S611 (constant SQL, no input)
    ON_CARE_TEAM_SQL,
    (),
    output_field=BooleanField(),
)

Item = TypeVar("Item", bound=models.Model)


@dataclass(frozen=True)
class ChartPatient:
    patient: PatientIdentity
    # Seen only through an active break-the-glass grant (not on the care team today).
    break_the_glass: bool
    no_known_allergies: bool


def get_chart_patient(request: HttpRequest, patient_id: uuid.UUID) -> ChartPatient:
    require_group(request, CHART_ROLES, patient_id=patient_id)
    nka = AllergyReview.objects.filter(patient=OuterRef("pk"), no_known_allergies=True)
    patient = (
        PatientIdentity.objects.annotate(
            may_see=MAY_SEE_COLUMN, on_care_team=ON_CARE_TEAM_COLUMN, nka=Exists(nka)
        )
        .filter(pk=patient_id)
        .first()
    )
    if patient is None:
        raise not_found(request, patient_id=patient_id)
    if not patient.may_see:  # type: ignore[attr-defined]
        access_log.record_refusal(request, patient_id=patient_id, reason=REASON_NOT_ON_CARE_TEAM)
        raise NotOnCareTeam(patient_id)
    return ChartPatient(
        patient=patient,
        break_the_glass=not patient.on_care_team,  # type: ignore[attr-defined]
        no_known_allergies=patient.nka,  # type: ignore[attr-defined]
    )


def get_item_for_user(request: HttpRequest, model: type[Item], item_id: uuid.UUID) -> Item:
    """A chart item the signed-in clinician may see (row-level security filters the query)."""
    require_group(request, CHART_ROLES, object_id=item_id)
    item = model._default_manager.filter(pk=item_id).first()
    if item is None:
        raise not_found(
            request, object_id=item_id, reason=f"{REASON_NOT_FOUND} or {REASON_NOT_ON_CARE_TEAM}"
        )
    return item
