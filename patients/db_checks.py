"""What the database checks on writes to patient identities, beyond the stored forms of every
encrypted and blind-index column (clinic/db_checks.py): the plaintext birth year is a year a
living patient can have been born in, and the administrative sex is one of US Core's codes
(here rather than as a model constraint, which the demographics form would query the database
to validate)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.db_checks import ensure_check, sql_strings
from clinic.provisioning import register_step
from patients.models import ADMINISTRATIVE_SEXES

# Not in the future by the clinic's calendar (clinic/clinic_time.py).
BIRTH_YEAR = "birth_year BETWEEN 1880 AND extract(year FROM clinic_today())"


SEX = f"administrative_sex IN ({sql_strings(code for code, _label in ADMINISTRATIVE_SEXES)})"


@register_step(order=30)
def identity_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_check(
        connection, "patient_identities", "patient_identities_birth_year", BIRTH_YEAR
    ) + ensure_check(connection, "patient_identities", "patient_identities_sex", SEX)
