"""What the database checks on writes to auth_user: a password is stored encrypted with the
field keys (accounts/passwords.py) or is unusable (`!...`), never as a hash anyone who reads
the table or a backup could attack offline. Whoever writes, the owner's maintenance included."""

from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.passwords import PREFIX
from clinic.db_checks import CIPHERTEXT, ensure_check
from clinic.provisioning import register_step

# `$` is a regular-expression anchor: escaped in the prefix; CIPHERTEXT starts with `^`.
PASSWORD_FORM = (
    f"left(password, 1) = '{UNUSABLE_PASSWORD_PREFIX}' "
    f"OR password ~ '^{PREFIX.replace('$', '[$]')}{CIPHERTEXT[1:]}'"
)


@register_step(order=30)
def password_checks(connection: BaseDatabaseWrapper) -> list[str]:
    return ensure_check(connection, "auth_user", "auth_user_password_form", PASSWORD_FORM)
