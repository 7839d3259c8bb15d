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


@pytest.mark.usefixtures("clinic_db")
def test_bulk_copy_writes_decryptable_rows_and_skips_conflicts_only_when_asked():
    from django.db import IntegrityError, transaction

    from clinic.bulk_copy import copy_models

    first, second = demo.demo_patients(2, seed=13)
    with pytest.raises(RuntimeError):
        copy_models(PatientIdentity, [first])  # outside a transaction: refused
    with transaction.atomic(using="owner"):
        assert copy_models(PatientIdentity, [first, second]) == 2
    stored = PatientIdentity.objects.using("owner").get(pk=first.pk)
    assert (stored.last_name, stored.ssn) == (first.last_name, first.ssn)
    assert stored.last_name.endswith("-Demo")
    again = next(iter(demo.demo_patients(1, seed=13)))  # same MRN and id as `first`
    with transaction.atomic(using="owner"):
        assert copy_models(PatientIdentity, [again], ignore_conflicts=True) == 0
    with pytest.raises(IntegrityError), transaction.atomic(using="owner"):
        copy_models(PatientIdentity, [again])
    assert patient_count() == 2
