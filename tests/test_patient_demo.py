"""Demo patients: synthetic, valid by the registration rules, deterministic, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest

from patients import demo
from patients.forms import PatientDemographicsForm
from patients.models import PatientIdentity
from tests.patient_support import patient_count


class FakeCommand:
    def __init__(self) -> None:
        self.stdout = StringIO()


def values(patients) -> list[tuple]:
    return [
        (p.patient_id, p.first_name, p.last_name, p.date_of_birth, p.ssn, p.phone, p.mrn)
        for p in patients
    ]


def test_same_seed_gives_the_same_patients_and_another_seed_others():
    first = values(demo.demo_patients(20, seed=7))
    assert first == values(demo.demo_patients(20, seed=7))
    assert {row[0] for row in first}.isdisjoint(row[0] for row in values(demo.demo_patients(20, 8)))


def test_demo_patients_are_obviously_fake_and_pass_the_registration_rules():
    patients = list(demo.demo_patients(200, seed=3))
    assert len({p.ssn for p in patients}) == 200
    assert len({p.mrn for p in patients}) == 200
    for patient in patients:
        assert patient.ssn.startswith("9")
        assert patient.phone[4:10] == "555-01"
        assert patient.email.endswith("@example.test")
        data = {name: getattr(patient, name) for name in PatientDemographicsForm.Meta.fields}
        form = PatientDemographicsForm(data)
        assert form.is_valid(), form.errors.as_data().keys()


@pytest.mark.usefixtures("clinic_db")
def test_seed_hook_creates_the_patients_once(staff):
    command = FakeCommand()
    options = {"patients": 30, "seed": 5}
    demo.seed_demo_patients(command, {}, options)
    assert patient_count() == 30
    assert "created 30" in command.stdout.getvalue()
    assert "rows/s" in command.stdout.getvalue()
    demo.seed_demo_patients(command, {}, options)
    assert patient_count() == 30
    assert "already present" in command.stdout.getvalue()
    ids = demo.demo_patient_ids()
    assert ids == sorted(p.patient_id for p in demo.demo_patients(30, seed=5))
    one = PatientIdentity.objects.using("owner").get(pk=ids[0])
    assert PatientIdentity.objects.using("owner").by_ssn(one.ssn).get() == one


@pytest.mark.usefixtures("clinic_db")
def test_seed_hook_tops_up_to_the_requested_count(staff):
    demo.create_demo_patients(10, seed=5)
    assert demo.create_demo_patients(25, seed=5) == 15
    stored = sorted(demo.demo_patient_ids())
    assert stored == sorted(p.patient_id for p in demo.demo_patients(25, seed=5))
