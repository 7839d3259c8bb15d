"""What the database checks on writes to django-otp's secrets (accounts/otp_secrets.py): the
TOTP key column is an encrypted column, checked with every other (clinic/db_checks.py); a
recovery code is stored only as its keyed hash, so no write, not even the owner's, stores a
code that signs anyone in."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.otp_secrets import RECOVERY_CODE_DIGEST
from clinic.db_checks import ensure_check
from clinic.provisioning import register_step

TABLE = "otp_static_statictoken"


@register_step(order=30)
def recovery_code_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_check(
        connection, TABLE, f"{TABLE}_token_form", f"token ~ '{RECOVERY_CODE_DIGEST}'"
    )
