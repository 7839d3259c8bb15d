"""What the database checks on writes to patient identities, beyond the stored forms of every
encrypted and blind-index column (clinic/db_checks.py): the plaintext birth year is a year a
living patient can have been born in."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.db_checks import ensure_check
from clinic.provisioning import register_step

# Not in the future by the clinic's calendar (clinic/clinic_time.py).
BIRTH_YEAR = "birth_year BETWEEN 1880 AND extract(year FROM clinic_today())"


@register_step(order=30)
def identity_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_check(
        connection, "patient_identities", "patient_identities_birth_year", BIRTH_YEAR
    )
