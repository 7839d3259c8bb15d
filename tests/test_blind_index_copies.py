"""A blind index copied from another patient (patients/db_checks.py), as the front desk's
injected SQL would try it: the MRN's and the SSN's are refused; a refused copy changes nothing."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from patients.models import PatientIdentity
from tests.db_helpers import in_request
from tests.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def two_patients():
    return PatientFactory(ssn="900-00-0011"), PatientFactory(ssn="900-00-0012", first_name="Sam")


@pytest.mark.parametrize(
    ("column", "refusal"),
    [("mrn_bidx", "duplicate key"), ("ssn_bidx", "patient_identities_ssn_unique")],
)
def test_the_front_desk_cannot_copy_another_patients_unique_index(
    staff, two_patients, column, refusal
):
    mine, theirs = two_patients
    with pytest.raises(DatabaseError, match=refusal):
        in_request(
            staff["frontdesk"],
            f"UPDATE patient_identities SET {column} = (SELECT {column} FROM patient_identities "  # noqa: S608
            "WHERE patient_id = %s) WHERE patient_id = %s RETURNING 1",
            [theirs.pk, mine.pk],
        )
    row = PatientIdentity.objects.using("owner").get(pk=mine.pk)
    assert getattr(row, column) == getattr(mine, column)


def test_the_front_desk_cannot_insert_a_copy_of_a_patient(staff, two_patients):
    _mine, theirs = two_patients
    columns = [
        f.column
        for f in PatientIdentity._meta.concrete_fields
        if f.column not in ("patient_id", "mrn_bidx")
    ]
    listed = ", ".join(columns)
    with pytest.raises(DatabaseError, match="patient_identities_ssn_unique"):
        in_request(
            staff["frontdesk"],
            f"INSERT INTO patient_identities (patient_id, mrn_bidx, {listed}) "  # noqa: S608
            f"SELECT gen_random_uuid(), repeat('a', 32), {listed} FROM patient_identities "
            "WHERE patient_id = %s RETURNING 1",
            [theirs.pk],
        )
    assert PatientIdentity.objects.using("owner").count() == 2


def test_a_patient_keeps_their_own_index_and_a_new_ssn_is_accepted(staff, two_patients):
    mine, _theirs = two_patients
    same = in_request(
        staff["frontdesk"],
        "UPDATE patient_identities SET ssn_bidx = ssn_bidx, mrn_bidx = mrn_bidx "
        "WHERE patient_id = %s RETURNING 1",
        [mine.pk],
    )
    assert same == [(1,)]
    fresh = in_request(
        staff["frontdesk"],
        "UPDATE patient_identities SET ssn_bidx = repeat('b', 32) WHERE patient_id = %s "
        "RETURNING 1",
        [mine.pk],
    )
    assert fresh == [(1,)]
