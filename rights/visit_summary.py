"""A printable summary of one visit for the patient (the "also" item of 45 CFR 164.524 in issue
#19): the same PDF pipeline as the designated record set (rights/export_pdf.py), one visit.

Everything here is read under the signed-in clinician's role, so row-level security decides it
again: the visit, its addenda and the chart rows exist for this query only if the clinician may
see the patient (care team today or a break-the-glass grant; records/db_grants.py). The caller
(rights/visit_summary_views.py) has already fetched the visit through records.access.

What it holds: the visit (date, clinician, ICD-10-CM diagnosis with its description), the note
only once signed (an unsigned note is a draft its author may still change: the summary says it is
not included), the note's addenda (all signed when written), and after a denied amendment the
request, the denial, the statement of disagreement and the rebuttal (164.526(d)(5); read through
the database's `visit_amendment_statements`, rights/db_visit_summary.py); then the chart as it
stands today: active problems, active allergies (or "No known allergies" as stated, or "not
asked"), current medications, and the vital signs taken on the visit's day (the clinic's date) or
else the latest set. Built in memory, never written to disk.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from reportlab.lib.styles import getSampleStyleSheet

from chart.models import Allergy, AllergyReview, Medication, Problem, VitalSigns
from records import icd10
from records.models import ClinicalRecord, VisitAddendum
from rights import export_pdf
from rights.amendment_models import CHART_KINDS, AmendmentEntry
from rights.db_visit_summary import FUNCTION as STATEMENTS_FUNCTION
from rights.export_statements import statements_by_item, statements_of
from rights.models import DENIED, AmendmentRequest
from rights.record_set import Addendum, RecordSet, Visit, staff_names

UNSIGNED_NOTE = (
    "The visit note is not yet signed by the clinician; a note is part of the summary once it "
    "is signed."
)
NOT_ASKED = "Not asked: no allergy and no statement of no known allergies are recorded."


def _vital_signs(record: ClinicalRecord) -> tuple[list[VitalSigns], str]:
    """The latest set taken on the visit's day (the clinic's calendar), else the latest set."""
    sets = VitalSigns.objects.filter(patient_id=record.patient_id, entered_in_error=False)
    on_the_day = sets.filter(taken_at__date=record.visit_date).order_by("-taken_at").first()
    if on_the_day is not None:
        return [on_the_day], "Vital signs taken on the day of the visit"
    latest = sets.order_by("-taken_at").first()
    return ([latest] if latest else []), "Latest vital signs"


def summary_data(record: ClinicalRecord) -> tuple[RecordSet, str]:
    """The visit and today's chart, as a one-visit record set, and the vital signs' title."""
    patient = record.patient
    addenda = list(VisitAddendum.objects.for_record(record)) if record.is_signed else []
    problems = list(
        Problem.objects.filter(patient_id=patient.pk, status=Problem.ACTIVE).order_by(
            "onset_date", "created_at"
        )
    )
    allergies = list(
        Allergy.objects.filter(patient_id=patient.pk, status=Allergy.ACTIVE).order_by("created_at")
    )
    review = AllergyReview.objects.filter(patient_id=patient.pk, no_known_allergies=True).first()
    medications = list(
        Medication.objects.filter(patient_id=patient.pk, status=Medication.ACTIVE).order_by(
            "start_date", "created_at"
        )
    )
    vitals, vitals_title = _vital_signs(record)
    denied = list(
        AmendmentRequest.objects.raw(
            f"SELECT * FROM {STATEMENTS_FUNCTION}(%s) ORDER BY decided_on, recorded_at",  # noqa: S608
            [str(record.pk)],
        )
    )
    # What 164.526 attached to the chart entries shown (the reader's rows under row-level
    # security: a clinician who may see the patient reads its chart entries' amendments and
    # denied requests; the demographic ones are not part of a visit summary).
    entries = list(
        AmendmentEntry.objects.filter(patient_id=patient.pk, target_kind__in=CHART_KINDS)
    )
    chart_deciders = AmendmentRequest.objects.filter(
        patient_id=patient.pk, outcome=DENIED, target_kind__in=CHART_KINDS
    ).values_list("decided_by_id", flat=True)
    names = staff_names(
        {record.provider_id}
        | {a.author_id for a in addenda}
        | {a.decided_by_id for a in denied if a.decided_by_id}
        | {e.author_id for e in entries}
        | {staff_id for staff_id in chart_deciders if staff_id}
    )
    statements = statements_of(denied, names).get(record.pk, [])
    now = timezone.localtime()
    visit = Visit(
        record_id=record.pk,
        visit_date=record.visit_date,
        diagnosis_code=record.diagnosis_code,
        diagnosis=icd10.description(record.diagnosis_code),
        notes=(record.notes or "") if record.is_signed else "",
        provider=names.get(record.provider_id, f"staff {record.provider_id}"),
        created_at=record.created_at,
        addenda=[
            Addendum(a.addendum_id, a.text, names.get(a.author_id, "—"), a.created_at)
            for a in addenda
        ],
        statements=statements,
    )
    data = RecordSet(
        patient_id=patient.pk,
        first_name=patient.first_name,
        last_name=patient.last_name,
        mrn=patient.mrn,
        date_of_birth=None,
        address="",
        phone="",
        email="",
        state="",
        produced_on=now.date(),
        produced_at=now,
        visits=[visit],
        problems=problems,
        allergies=allergies,
        no_known_allergies=review,
        medications=medications,
        vital_signs=vitals,
        amendments=statements_by_item(patient.pk, entries, names),
    )
    return data, vitals_title


def summary_pdf(record: ClinicalRecord) -> bytes:
    """The visit summary as PDF bytes: the patient's name, the clinic and the date produced on
    every page."""
    data, vitals_title = summary_data(record)
    [visit] = data.visits
    styles = getSampleStyleSheet()
    story: list[Any] = [
        export_pdf.paragraph(f"Visit summary for {data.name}", styles["Title"]),
        export_pdf.paragraph(
            f"{settings.CLINIC_NAME} · visit on {visit.visit_date.isoformat()} · produced "
            f"{data.produced_on.isoformat()}",
            styles["BodyText"],
        ),
        *export_pdf.visit_story(
            visit, styles, no_note=UNSIGNED_NOTE if not record.is_signed else "(no note)"
        ),
        *export_pdf.chart_story(
            data,
            styles,
            heading="Your chart today",
            no_allergies=NOT_ASKED,
            vitals_title=vitals_title,
        ),
    ]
    return export_pdf.build(
        story,
        title="Visit summary",
        header=f"{data.name} · MRN {data.mrn} · {settings.CLINIC_NAME}",
        footer=f"Visit summary produced {data.produced_on.isoformat()} for the patient",
    )
