"""What the database checks on writes to the sign-in secrets, whoever writes (the owner's
maintenance included):

- auth_user: a password is stored encrypted with the field keys (accounts/passwords.py) or is
  unusable (`!...`), never as a hash anyone who reads the table or a backup could attack offline;
- django-otp's secrets (accounts/otp_secrets.py): the TOTP key column is an encrypted column,
  checked with every other (clinic/db_checks.py); a recovery code is stored only as its keyed
  hash, so no write stores a code that signs anyone in.
"""

from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.otp_secrets import RECOVERY_CODE_DIGEST
from accounts.passwords import PREFIX
from clinic.db_checks import CIPHERTEXT, ensure_check
from clinic.provisioning import register_step

# `$` is a regular-expression anchor: escaped in the prefix; CIPHERTEXT starts with `^`.
PASSWORD_FORM = (
    f"left(password, 1) = '{UNUSABLE_PASSWORD_PREFIX}' "
    f"OR password ~ '^{PREFIX.replace('$', '[$]')}{CIPHERTEXT[1:]}'"
)
TOKEN_TABLE = "otp_static_statictoken"


@register_step(order=30)
def sign_in_secret_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return [
        *ensure_check(connection, "auth_user", "auth_user_password_form", PASSWORD_FORM),
        *ensure_check(
            connection,
            TOKEN_TABLE,
            f"{TOKEN_TABLE}_token_form",
            f"token ~ '{RECOVERY_CODE_DIGEST}'",
        ),
    ]
