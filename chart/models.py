"""The clinician's chart: allergies, problems, vital signs, medications, and their history.

Every table links to an identity by `patient_id` only, and row-level security gives each row to
the clinicians who may see the patient's visits (care team or break the glass; chart/db_grants.py).
Free text is encrypted (substance, reaction, note, drug name, dose, frequency); codes, statuses,
dates and measurements are plaintext so that the database can check them (chart/db_checks.py).
Nothing is ever deleted: a wrong entry is marked entered in error. Every insert and update is
copied by the database into `chart_history` (append-only, written by a trigger; docs/chart.md).
Each item maps to a FHIR R4 / US Core resource (docs/chart.md).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.encryption import EncryptedCharField, EncryptedTextField
from patients.models import PatientIdentity
from records.icd10 import validate_icd10_code


def _patient() -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, db_column="patient_id", related_name="+"
    )


def _recorded_by() -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_column="recorded_by_id",
        related_name="+",
    )


def _in(field: str, choices: list[tuple[str, str]]) -> models.Q:
    return models.Q(**{f"{field}__in": [code for code, _label in choices]})


class ChartItem(models.Model):
    """What every chart item has: its patient, who recorded it, when, and when it last changed."""

    patient = _patient()
    recorded_by = _recorded_by()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


ALLERGY_STATUSES = [
    ("active", "Active"),
    ("resolved", "Resolved"),
    ("entered_in_error", "Entered in error"),
]
SEVERITIES = [("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")]
PROBLEM_STATUSES = [("active", "Active"), ("resolved", "Resolved")]
MEDICATION_STATUSES = [
    ("active", "Active"),
    ("stopped", "Stopped"),
    ("completed", "Completed"),
    ("entered_in_error", "Entered in error"),
]
# SNOMED CT route codes in docs/chart.md.
ROUTES = [
    ("oral", "Oral"),
    ("sublingual", "Sublingual"),
    ("topical", "Topical"),
    ("inhaled", "Inhaled"),
    ("nasal", "Nasal"),
    ("ophthalmic", "Eye"),
    ("subcutaneous", "Subcutaneous"),
    ("intramuscular", "Intramuscular"),
    ("intravenous", "Intravenous"),
    ("rectal", "Rectal"),
    ("transdermal", "Transdermal"),
    ("other", "Other"),
]


class Allergy(ChartItem):
    """FHIR AllergyIntolerance (US Core): a substance, its reaction and severity."""

    ACTIVE = "active"
    RESOLVED = "resolved"
    ENTERED_IN_ERROR = "entered_in_error"
    STATUSES = ALLERGY_STATUSES
    SEVERITIES = SEVERITIES

    allergy_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    substance = EncryptedCharField(max_length=200)
    reaction = EncryptedCharField(max_length=500, blank=True)
    severity = models.CharField(max_length=10, choices=SEVERITIES, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=ACTIVE)

    class Meta:
        db_table = "chart_allergies"
        indexes = [models.Index(fields=["patient", "status"], name="chart_allergies_patient")]
        constraints = [
            models.CheckConstraint(
                condition=_in("status", ALLERGY_STATUSES), name="chart_allergy_status"
            ),
            models.CheckConstraint(
                condition=models.Q(severity="") | _in("severity", SEVERITIES),
                name="chart_allergy_severity",
            ),
        ]

    def __str__(self) -> str:
        return f"allergy {self.allergy_id}"


class AllergyReview(models.Model):
    """Whether the patient was asked about allergies and said none: "No known allergies" is a
    statement someone made (FHIR: AllergyIntolerance with SNOMED CT 716186003), distinct from
    never having asked (no row). One row per patient; recording an allergy clears it."""

    patient = models.OneToOneField(
        PatientIdentity,
        on_delete=models.PROTECT,
        db_column="patient_id",
        related_name="+",
        primary_key=True,
    )
    no_known_allergies = models.BooleanField(default=True)
    recorded_by = _recorded_by()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chart_allergy_reviews"

    def __str__(self) -> str:
        return f"allergy review {self.pk}"


class Problem(ChartItem):
    """FHIR Condition (US Core problem-list-item): an ICD-10-CM code from the real code set."""

    ACTIVE = "active"
    RESOLVED = "resolved"
    STATUSES = PROBLEM_STATUSES

    problem_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    icd10_code = models.CharField("ICD-10-CM code", max_length=8, validators=[validate_icd10_code])
    onset_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    resolved_on = models.DateField(null=True, blank=True)
    note = EncryptedTextField(max_length=2000, blank=True)

    class Meta:
        db_table = "chart_problems"
        indexes = [models.Index(fields=["patient", "status"], name="chart_problems_patient")]
        constraints = [
            models.CheckConstraint(
                condition=_in("status", PROBLEM_STATUSES), name="chart_problem_status"
            ),
            # Resolved exactly when it has a resolution date, never before its onset.
            models.CheckConstraint(
                condition=models.Q(status="resolved", resolved_on__isnull=False)
                | models.Q(status="active", resolved_on__isnull=True),
                name="chart_problem_resolution",
            ),
            models.CheckConstraint(
                condition=models.Q(onset_date__isnull=True)
                | models.Q(resolved_on__isnull=True)
                | models.Q(resolved_on__gte=models.F("onset_date")),
                name="chart_problem_order",
            ),
        ]

    def __str__(self) -> str:
        return f"problem {self.problem_id}"


class Measure:
    """One vital sign: its column, LOINC code, UCUM unit and plausible range (both ends
    included). The same ranges are the form's and the database's CHECK (migrations)."""

    def __init__(
        self,
        column: str,
        label: str,
        loinc: str,
        unit: str,
        low: Decimal | int,
        high: Decimal | int,
        display_unit: str,
    ):
        self.column, self.label, self.loinc, self.unit = column, label, loinc, unit
        self.low, self.high, self.display_unit = low, high, display_unit

    def __repr__(self) -> str:
        return f"Measure({self.column})"


# LOINC codes of the FHIR vital-signs profile (US Core); units in UCUM.
MEASURES = (
    Measure("systolic", "Systolic blood pressure", "8480-6", "mm[Hg]", 50, 260, "mmHg"),
    Measure("diastolic", "Diastolic blood pressure", "8462-4", "mm[Hg]", 20, 160, "mmHg"),
    Measure("heart_rate", "Heart rate", "8867-4", "/min", 20, 250, "/min"),
    Measure("temperature", "Body temperature", "8310-5", "Cel", Decimal(30), Decimal(45), "°C"),
    Measure("respiratory_rate", "Respiratory rate", "9279-1", "/min", 4, 80, "/min"),
    Measure("spo2", "Oxygen saturation (SpO2)", "59408-5", "%", 50, 100, "%"),
    Measure("weight", "Body weight", "29463-7", "kg", Decimal("0.3"), Decimal("500.0"), "kg"),
    Measure("height", "Body height", "8302-2", "cm", Decimal("20.0"), Decimal("260.0"), "cm"),
)  # fmt: skip
MEASURES_BY_COLUMN = {measure.column: measure for measure in MEASURES}
BMI = Measure("bmi", "Body mass index (computed)", "39156-5", "kg/m2", 5, 150, "kg/m²")
BP_PANEL_LOINC = "85354-9"
VITALS_PANEL_LOINC = "85353-1"


def _range(measure: Measure) -> models.Q:
    column = measure.column
    return models.Q(**{f"{column}__isnull": True}) | models.Q(
        **{f"{column}__gte": measure.low, f"{column}__lte": measure.high}
    )


class VitalSigns(models.Model):
    """One set of measurements taken together (FHIR: one Observation per measure, vital-signs
    profile, grouped by the panel 85353-1). Any measure may be missing, not all of them."""

    vitals_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = _patient()
    recorded_by = _recorded_by()
    taken_at = models.DateTimeField()
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    temperature = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO2", null=True, blank=True)
    weight = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    height = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    entered_in_error = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chart_vital_signs"
        indexes = [models.Index(fields=["patient", "taken_at"], name="chart_vitals_patient")]
        constraints = [
            *[
                models.CheckConstraint(condition=_range(m), name=f"chart_vitals_{m.column}_range")
                for m in MEASURES
            ],
            models.CheckConstraint(
                condition=models.Q(systolic__isnull=True)
                | models.Q(diastolic__isnull=True)
                | models.Q(systolic__gt=models.F("diastolic")),
                name="chart_vitals_bp_order",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic__isnull=True, diastolic__isnull=True)
                | models.Q(systolic__isnull=False, diastolic__isnull=False),
                name="chart_vitals_bp_pair",
            ),
            models.CheckConstraint(
                condition=~models.Q(**{f"{m.column}__isnull": True for m in MEASURES}),
                name="chart_vitals_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"vital signs {self.vitals_id}"

    @property
    def bmi(self) -> Decimal | None:
        """kg / m², one decimal; computed, never stored (it follows weight and height)."""
        if self.weight is None or self.height is None:
            return None
        metres = Decimal(self.height) / 100
        return (Decimal(self.weight) / (metres * metres)).quantize(Decimal("0.1"))


class Medication(ChartItem):
    """FHIR MedicationStatement (US Core MedicationRequest/Statement): free text for now; a
    later version codes the drug in RxNorm (docs/chart.md)."""

    ACTIVE = "active"
    STOPPED = "stopped"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered_in_error"
    STATUSES = MEDICATION_STATUSES
    ROUTES = ROUTES

    medication_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = EncryptedCharField(max_length=200)
    dose = EncryptedCharField(max_length=100, blank=True)
    route = models.CharField(max_length=20, choices=ROUTES)
    frequency = EncryptedCharField(max_length=100, blank=True)
    start_date = models.DateField(null=True, blank=True)
    stop_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=ACTIVE)

    class Meta:
        db_table = "chart_medications"
        indexes = [models.Index(fields=["patient", "status"], name="chart_medications_patient")]
        constraints = [
            models.CheckConstraint(
                condition=_in("status", MEDICATION_STATUSES), name="chart_medication_status"
            ),
            models.CheckConstraint(condition=_in("route", ROUTES), name="chart_medication_route"),
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(stop_date__isnull=True)
                | models.Q(stop_date__gte=models.F("start_date")),
                name="chart_medication_order",
            ),
        ]

    def __str__(self) -> str:
        return f"medication {self.medication_id}"


class ChartHistory(models.Model):
    """Every version of every chart item, written by the database itself (a trigger on each
    item table, chart/db_checks.py): the row as stored (`row`: jsonb, free text still
    ciphertext), which operation, by whom (the verified staff id), when. Nobody may update or
    delete it; clinicians read it for the patients they may see."""

    history_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(
        PatientIdentity,
        on_delete=models.DO_NOTHING,
        db_column="patient_id",
        related_name="+",
        db_constraint=False,
    )
    item_table = models.CharField(max_length=40)
    item_id = models.CharField(max_length=40)
    operation = models.CharField(max_length=6)
    changed_by_id = models.IntegerField(null=True)
    changed_at = models.DateTimeField()
    row = models.JSONField()

    class Meta:
        db_table = "chart_history"
        indexes = [models.Index(fields=["item_id", "history_id"], name="chart_history_item")]

    def __str__(self) -> str:
        return f"chart history {self.history_id}"
