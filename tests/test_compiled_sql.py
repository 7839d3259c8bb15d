"""A read compiled once per process (clinic/compiled_sql.py `CompiledRead`) gives the rows the
ORM's own query gives, for whichever key it is called with, under the caller's row-level
security; and nothing that changes between calls can be compiled into it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chart import selectors
from chart.models import Medication, Problem
from clinic.compiled_sql import CompiledRead
from tests.db_helpers import request_cursor
from tests.factories import (
    CareTeamMemberFactory,
    MedicationFactory,
    PatientFactory,
    ProblemFactory,
)

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def charts(staff):
    """Two patients on the clinician's care team with their own medications and problems, and
    one patient who is not."""
    mine = [PatientFactory(), PatientFactory()]
    for number, patient in enumerate(mine):
        CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
        MedicationFactory(patient=patient, name=f"Fakemed {number} a")
        MedicationFactory(patient=patient, name=f"Fakemed {number} b", status=Medication.STOPPED)
        ProblemFactory(patient=patient, icd10_code="I10", note=f"Fake note {number}")
    other = PatientFactory()
    MedicationFactory(patient=other, name="Fakemed other")
    return mine, other


def test_each_key_reads_its_own_rows_as_the_orm_would(staff, charts):
    mine, _other = charts
    with request_cursor(staff["clinician"]):
        for current_only in (True, False):
            for patient in mine:
                compiled = selectors.medications(patient.pk, current_only=current_only)
                orm = list(selectors._medications_query(patient.pk, current_only))
                assert [m.pk for m in compiled] == [m.pk for m in orm]
                assert [m.name for m in compiled] == [m.name for m in orm]  # decrypted
        assert {m.name for m in selectors.medications(mine[1].pk)} == {
            "Fakemed 1 a",
            "Fakemed 1 b",
        }


def test_a_deferred_field_stays_deferred(staff, charts):
    mine, _other = charts
    with request_cursor(staff["clinician"]):
        (row,) = selectors.problems(mine[0].pk, active_only=True)
        assert "note" in row["problem"].get_deferred_fields()


def test_row_level_security_still_decides(staff, charts):
    mine, other = charts
    with request_cursor(staff["clinician"]):
        assert selectors.medications(other.pk) == []
    with request_cursor(staff["clinician2"]):
        assert selectors.medications(mine[0].pk) == []


def test_nothing_that_changes_between_calls_is_compiled_in():
    read = CompiledRead(
        lambda patient_id: Problem.objects.filter(
            patient_id=patient_id, onset_date__lte=timezone.localdate()
        )
    )
    with pytest.raises(TypeError, match="may change"):
        read(PatientFactory.build().pk)


def test_the_key_must_stand_where_the_read_says():
    """A read that names its key twice, compiled as if once, is refused (it would send the
    placeholder, not the key, in the second place)."""
    read = CompiledRead(
        lambda patient_id: Problem.objects.filter(patient_id=patient_id).exclude(pk=patient_id)
    )
    with pytest.raises(ValueError, match="2 places, not 1"):
        read(PatientFactory.build().pk)
