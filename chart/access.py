"""The one way chart views reach a patient and an item (STYLE.md: one helper per model).

- `get_chart_patient`: clinicians only (everyone else 403, logged with the patient). One
  statement fetches the patient and asks PostgreSQL, in one call of
  `clinic_clinician_access()`, the three paths of the condition row-level security applies to
  every chart table (records/db_grants.py `clinician_may_see`), told apart: none (refused),
  only the clinician's break-the-glass grant (the banner's marker), or the care team (standing
  or by an appointment today); whether "no known allergies" was stated; and the clinician's
  rights facts (rights/patient_facts.py `exists_columns`: restrictions, amendments... to
  show), so the page sends no statement for them. The statement is compiled once per process
  (clinic/compiled_sql.py `CompiledRead`). Not the
  clinician's patient: NotOnCareTeam, which records.access.refuse_outside_care_team answers
  with the 403 page pointing to break the glass, logged like the visits' refusals.
- `get_item_for_user`: one chart item through row-level security; an item of a patient the
  clinician may not see does not exist for them (404, logged).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

from django.db import models
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from chart.models import AllergyReview
from clinic import access_log, roles
from clinic.access import REASON_NOT_FOUND, not_found, require_group
from clinic.compiled_sql import CompiledRead
from patients.models import PatientIdentity
from records.access import REASON_NOT_ON_CARE_TEAM, NotOnCareTeam
from records.db_grants import ACCESS_NAME, BREAK_GLASS_ACCESS
from rights import patient_facts

CHART_ROLES = frozenset({roles.CLINICIAN})
# The chart's one access question (records/db_grants.py ACCESS_FUNCTION): NULL where row-level
# security hides the patient's chart, 'break_glass' where it is open only through a grant.
ACCESS_COLUMN = RawSQL(  # noqa: S611 (constant SQL, no input)
    f'{ACCESS_NAME}("patient_identities"."patient_id")', (), output_field=CharField()
)

Item = TypeVar("Item", bound=models.Model)


@dataclass(frozen=True)
class ChartPatient:
    patient: PatientIdentity
    # Seen only through an active break-the-glass grant (not on the care team today).
    break_the_glass: bool
    no_known_allergies: bool


def chart_patient_query(patient_id: uuid.UUID) -> QuerySet[PatientIdentity]:
    """The patient, the clinician's access to the chart, the "no known allergies" flag, and
    the clinician's rights facts (rights/patient_facts.py: whether the page has restrictions,
    amendments... to show), all in one statement."""
    nka = AllergyReview.objects.filter(patient=OuterRef("pk"), no_known_allergies=True)
    return PatientIdentity.objects.annotate(
        access=ACCESS_COLUMN,
        nka=Exists(nka),
        **patient_facts.exists_columns(patient_id, roles.CLINICIAN),
    ).filter(pk=patient_id)


# The patient's id stands in the filter and in each rights fact's EXISTS.
_CHART_PATIENT = CompiledRead(
    chart_patient_query, places=1 + len(patient_facts.ASKED[roles.CLINICIAN])
)


def get_chart_patient(request: HttpRequest, patient_id: uuid.UUID) -> ChartPatient:
    require_group(request, CHART_ROLES, patient_id=patient_id)
    found = _CHART_PATIENT(patient_id)
    if not found:
        raise not_found(request, patient_id=patient_id)
    (patient,) = found
    if patient.access is None:  # type: ignore[attr-defined]
        access_log.record_refusal(request, patient_id=patient_id, reason=REASON_NOT_ON_CARE_TEAM)
        raise NotOnCareTeam(patient_id)
    patient_facts.remember(request, patient_id, roles.CLINICIAN, patient)
    return ChartPatient(
        patient=patient,
        break_the_glass=patient.access == BREAK_GLASS_ACCESS,  # type: ignore[attr-defined]
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
