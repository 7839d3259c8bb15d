"""The designated record set as a PDF for a person (ReportLab, built-in Helvetica, Letter): the
patient's name and MRN on every page, the date produced in every footer; demographics, the chart
(problems, allergies, medications, vital signs), then each visit with its diagnosis, its note and
the note's addenda. Built in memory (rights/record_set.py reads the data). The visit summary
(rights/visit_summary.py) is built from the same pieces: `build`, `chart_story`, `visit_story`."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from chart.models import BMI, MEASURES
from patients.models import ADMINISTRATIVE_SEXES
from patients.models import GENDER_IDENTITIES as IDENTITY_CHOICES
from records import icd10
from rights.amendment_models import DEMOGRAPHIC, DEMOGRAPHIC_FIELDS
from rights.record_set import RecordSet, Visit

SEXES = dict(ADMINISTRATIVE_SEXES)
GENDER_IDENTITIES = {code: label for code, label in IDENTITY_CHOICES if code}

# --- PDF --------------------------------------------------------------------------------------


def paragraph(text: str, style: Any) -> Paragraph:
    """Plain text as a paragraph: escaped (a note is never markup), its line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _list(title: str, lines: list[str], empty: str, styles: Any) -> list[Any]:
    story = [paragraph(title, styles["Heading3"])]
    for line in lines or [empty]:
        story.append(paragraph(line, styles["BodyText"]))
    return story


def _moment(value: datetime) -> str:
    """A stored moment on the clinic's clock (TIME_ZONE), never the server's UTC."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def _day(value: Any) -> str:
    return value.isoformat() if value else "—"


def _attached(data: RecordSet, kind: str, item_id: Any) -> list[str]:
    """The lines under an item: its amendments and a denial's statements (164.526)."""
    return [
        f"    {added.kind}, {_moment(added.created_at)}, by {added.author}: {added.text}"
        for added in data.amendments_of(kind, item_id)
    ]


def chart_story(
    data: RecordSet,
    styles: Any,
    *,
    heading: str = "Chart",
    no_allergies: str = "No allergies are recorded.",
    vitals_title: str = "Vital signs",
) -> list[Any]:
    """The chart's sections as given in `data` (the record set: all of it; the visit summary:
    what stands today), each item with what a 164.526 request attached to it."""
    problems: list[str] = []
    for p in data.problems:
        problems.append(
            f"{icd10.dotted(p.icd10_code)} {icd10.description(p.icd10_code)} — "
            f"{p.get_status_display()}; onset {_day(p.onset_date)}"
            + (f"; resolved {_day(p.resolved_on)}" if p.resolved_on else "")
            + (f". Note: {p.note}" if p.note else "")
        )
        problems += _attached(data, "problem", p.problem_id)
    allergies: list[str] = []
    for a in data.allergies:
        allergies.append(
            f"{a.substance} — {a.get_status_display()}"
            + (f"; reaction: {a.reaction}" if a.reaction else "")
            + (f"; {a.get_severity_display().lower()}" if a.severity else "")
        )
        allergies += _attached(data, "allergy", a.allergy_id)
    if not allergies and data.no_known_allergies is not None:
        stated = timezone.localdate(data.no_known_allergies.updated_at)
        allergies = [f"No known allergies (stated {stated:%Y-%m-%d})"]
    medications: list[str] = []
    for m in data.medications:
        medications.append(
            f"{m.name} {m.dose} {m.frequency}".replace("  ", " ").strip()
            + f" — {m.get_route_display().lower()}, {m.get_status_display().lower()}"
            + f"; from {_day(m.start_date)}"
            + (f" to {_day(m.stop_date)}" if m.stop_date else "")
        )
        medications += _attached(data, "medication", m.medication_id)
    vitals: list[str] = []
    for v in data.vital_signs:
        values = [
            f"{measure.label} {getattr(v, measure.column)} {measure.display_unit}"
            for measure in MEASURES
            if getattr(v, measure.column) is not None
        ]
        if v.bmi is not None:
            values.append(f"{BMI.label} {v.bmi} {BMI.display_unit}")
        error = " (entered in error)" if v.entered_in_error else ""
        vitals.append(f"{_moment(v.taken_at)}{error}: " + "; ".join(values))
        vitals += _attached(data, "vital_signs", v.vitals_id)
    return [
        paragraph(heading, styles["Heading2"]),
        *_list("Problems", problems, "No problems are recorded.", styles),
        *_list("Allergies", allergies, no_allergies, styles),
        *_list("Medications", medications, "No medications are recorded.", styles),
        *_list(vitals_title, vitals, "No vital signs are recorded.", styles),
        Spacer(1, 12),
    ]


def build(story: list[Any], *, title: str, header: str, footer: str) -> bytes:
    """A paginated PDF (Letter, Helvetica) of `story`, in memory: `header` at the top and
    `footer` with the page number at the bottom of every page."""
    buffer = BytesIO()

    def on_page(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(inch * 0.75, LETTER[1] - inch * 0.5, header)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(inch * 0.75, inch * 0.5, footer)
        canvas.drawRightString(LETTER[0] - inch * 0.75, inch * 0.5, f"Page {document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=title,
        author="Clinic",
        topMargin=inch * 0.9,
        bottomMargin=inch * 0.9,
        leftMargin=inch * 0.75,
        rightMargin=inch * 0.75,
        invariant=False,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def visit_story(visit: Visit, styles: Any, *, no_note: str = "(no note)") -> list[Any]:
    """One visit: date, clinician, diagnosis, the note, its addenda, and after a denied amendment
    the request, the denial, the statement of disagreement and the rebuttal."""
    story = [
        paragraph(f"Visit on {visit.visit_date.isoformat()}", styles["Heading3"]),
        paragraph(f"Clinician: {visit.provider}", styles["BodyText"]),
        paragraph(
            f"Diagnosis: {icd10.dotted(visit.diagnosis_code)} {visit.diagnosis}",
            styles["BodyText"],
        ),
        paragraph("Note:", styles["BodyText"]),
        paragraph(visit.notes or no_note, styles["BodyText"]),
    ]
    for number, added in enumerate(visit.addenda, start=1):
        story += [
            paragraph(
                f"Addendum {number}, {_moment(added.created_at)}, by {added.author}:",
                styles["BodyText"],
            ),
            paragraph(added.text, styles["BodyText"]),
        ]
    for added in visit.statements:
        story += [
            paragraph(
                f"{added.kind}, {added.created_at:%Y-%m-%d}, by {added.author}:",
                styles["BodyText"],
            ),
            paragraph(added.text, styles["BodyText"]),
        ]
    story.append(Spacer(1, 8))
    return story


def pdf_bytes(data: RecordSet) -> bytes:
    """A paginated PDF (Letter, Helvetica): the patient's name, MRN and the production date on
    every page, then demographics and each visit with its diagnosis and note."""
    styles = getSampleStyleSheet()
    story: list[Any] = [
        paragraph(f"Medical record of {data.name}", styles["Title"]),
        paragraph("Demographics", styles["Heading2"]),
    ]
    rows = [
        ["Name", data.name],
        ["Medical record number", data.mrn],
        ["Date of birth", data.date_of_birth.isoformat() if data.date_of_birth else "—"],
        ["Sex (administrative)", SEXES.get(data.administrative_sex, "—")],
        ["Gender identity", GENDER_IDENTITIES.get(data.gender_identity, "—")],
        ["Address", data.address or "—"],
        ["State", data.state or "—"],
        ["Phone", data.phone or "—"],
        ["Email", data.email or "—"],
    ]
    table = Table(
        [[label, paragraph(value, styles["BodyText"])] for label, value in rows],
        colWidths=[inch * 1.9, inch * 5.0],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 12)]
    amended = [
        f"{label}: {line.strip()}"
        for field_name, label in DEMOGRAPHIC_FIELDS
        for line in _attached(data, DEMOGRAPHIC, field_name)
    ]
    if amended:
        story += _list("Amendments of demographics", amended, "", styles) + [Spacer(1, 12)]
    story += chart_story(data, styles)
    story.append(paragraph("Visits", styles["Heading2"]))
    if not data.visits:
        story.append(paragraph("No visits are recorded.", styles["BodyText"]))
    for visit in data.visits:
        story += visit_story(visit, styles)
    return build(
        story,
        title="Medical record",
        header=f"{data.name} · MRN {data.mrn}",
        footer=f"Produced {data.produced_on.isoformat()} at the patient's request (45 CFR 164.524)",
    )
