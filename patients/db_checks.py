"""What the database checks on writes to patient identities, beyond the stored forms of every
encrypted and blind-index column (clinic/db_checks.py): the plaintext birth year is a year a
living patient can have been born in, and the administrative sex is one of US Core's codes
(here rather than as a model constraint, which the demographics form would query the database
to validate).

A blind index copied from another patient: the MRN's (`mrn_bidx`) is refused by its unique
index for every writer; the SSN's (`ssn_bidx`) by the trigger below for every application role
(two patients may not share an SSN: patients/services.py refuses the registration), under the
same advisory lock the application takes, so two concurrent copies cannot both pass. The owner
login (migrations, demo data, fixtures) is exempt, as from every write check. The name and date
of birth index and the phone's are not unique (twins, a shared family phone): a copy of those
stays possible (docs/database-roles.md)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from clinic.db_checks import (
    REFUSE,
    check_function,
    ensure_check,
    ensure_trigger_function,
    sql_strings,
)
from clinic.provisioning import register_step
from patients.models import ADMINISTRATIVE_SEXES

# Not in the future by the clinic's calendar (clinic/clinic_time.py).
BIRTH_YEAR = "birth_year BETWEEN 1880 AND extract(year FROM clinic_today())"


SEX = f"administrative_sex IN ({sql_strings(code for code, _label in ADMINISTRATIVE_SEXES)})"


# The writer's own view of the table: only a verified front desk (or administrator) request may
# write identities at all (role gate), and it reads every row.
SSN_UNIQUE_FUNCTION = check_function(
    "patient_identities_ssn_unique",
    f"""    IF NEW.ssn_bidx IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.ssn_bidx IS DISTINCT FROM OLD.ssn_bidx) THEN
        PERFORM pg_advisory_xact_lock(hashtext('patients.ssn:' || NEW.ssn_bidx));
        IF EXISTS (SELECT 1 FROM public.patient_identities p
                   WHERE p.ssn_bidx = NEW.ssn_bidx AND p.patient_id <> NEW.patient_id) THEN
            {REFUSE} 'patient_identities_ssn_unique';
        END IF;
    END IF;""",  # noqa: S608 (constants only)
)


@register_step(order=30)
def identity_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return (
        ensure_check(connection, "patient_identities", "patient_identities_birth_year", BIRTH_YEAR)
        + ensure_check(connection, "patient_identities", "patient_identities_sex", SEX)
        + ensure_trigger_function(
            connection,
            "patient_identities_ssn_unique",
            SSN_UNIQUE_FUNCTION,
            "patient_identities",
            "patient_identities_ssn_unique",
            "INSERT OR UPDATE",
        )
    )
