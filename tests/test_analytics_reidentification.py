"""No two analyst relations share a patient key: the de-identified visits carry a keyed
pseudonym computed in the database, and clinical_records_analyst (a limited data set: patient id
and full visit date), which carries the real id, is read by the rollups' owner only, so the two
cannot be joined to put an age and a state on a dated visit. Run as the analyst's role, as an
injected statement would."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from analytics.pseudonyms import pseudonym
from clinic import roles
from tests.db_helpers import run_as
from tests.factories import ClinicalRecordFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")
ANALYST = roles.GROUP_ROLES[roles.ANALYST]


@pytest.fixture
def visits(staff):
    patients = [PatientFactory(), PatientFactory(birth_year=1950)]
    for patient in patients:
        ClinicalRecordFactory(patient=patient, provider=staff["clinician"])
    return patients


def test_the_deidentified_visits_carry_no_patient_id(visits):
    columns = {
        row[0]
        for row in run_as(
            ANALYST,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'analytics_visits_deidentified'",
        )
    }
    assert "patient_pseudonym" in columns and "patient_id" not in columns


def test_no_join_links_the_two_relations(visits):
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(
            ANALYST,
            "SELECT d.age_in_visit_year, r.visit_date FROM clinical_records_analyst r "
            "JOIN analytics_visits_deidentified d ON d.provider_id = r.provider_id",
        )
    ids = {str(patient.pk) for patient in visits}
    keys = {
        row[0]
        for row in run_as(ANALYST, "SELECT patient_pseudonym FROM analytics_visits_deidentified")
    }
    assert len(keys) == 2
    assert not ids & keys
    assert all(key not in patient_id.replace("-", "") for key in keys for patient_id in ids)


def test_the_database_pseudonym_is_the_applications(visits):
    keys = {
        row[0]
        for row in run_as(ANALYST, "SELECT patient_pseudonym FROM analytics_visits_deidentified")
    }
    assert keys == {pseudonym(patient.pk) for patient in visits}


@pytest.mark.parametrize("role", [None, *roles.GROUP_ROLES.values(), roles.SIGNED_IN_ROLE])
def test_no_application_role_reads_the_pseudonym_key(role):
    with pytest.raises(DatabaseError, match="permission denied"):
        run_as(role, "SELECT key FROM analytics_pseudonym_key")
