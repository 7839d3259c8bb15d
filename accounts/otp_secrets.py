"""django-otp's secrets at rest: TOTP keys encrypted with the field keys, recovery codes stored
as keyed hashes. django-otp's own models, tables, code and admin stay as they are.

How: two columns of django-otp's concrete models get the clinic's column behaviour through
Django's field API (`get_prep_value` on the way in, `from_db_value` on the way out), the same
hooks as every encrypted field of the clinic (clinic/encryption.py):

- `otp_totp_totpdevice.key`: django-otp keeps reading `self.key` as hex (`bin_key`,
  `config_url`, `default_key`, the validators); the column holds `v1:<key id>:<payload>` with
  AAD `otp_totp_totpdevice.key`. Being an `EncryptedFieldMixin`, the column is found by key
  rotation (rotate_field_keys), the restore check and the stored-form CHECK (clinic/db_checks.py)
  like any other encrypted column.
- `otp_static_statictoken.token`: every value given to the field is a code, and is stored and
  compared as `blind_index("recovery_code", code)` (HMAC-SHA256 with BLIND_INDEX_KEY, 32 hex
  digits). django-otp's `StaticDevice.verify_token` filters `token=<code>`, so the lookup hashes
  the code and matches the stored hash; the code itself is shown once (accounts/mfa.py) and
  stored nowhere. A value read back from the table is marked (`StoredDigest`), so saving a
  loaded row does not hash the hash again; any other value, including a stored hash typed in
  as a code, is hashed, so a hash from a backup is no code. Changing BLIND_INDEX_KEY voids every
  recovery code (staff generate new ones); the codes cannot be recomputed, by design.

Why not the alternatives: django-otp lists device models by class and skips proxy models
(`django_otp.device_classes`), so a proxy overriding `bin_key` would never be asked; own device
models would copy django-otp's TOTP verification and move every grant, policy, session device id
and test that names the otp_ tables. Here the only thing installed is the field's class, in
`AccountsConfig.ready()`, before any query; `install()` fails loudly if django-otp renames or
retypes the columns. Each field still reports itself to migrations as django-otp's plain
`CharField`, so django-otp's migration state is untouched and `makemigrations` sees nothing; the
columns were widened, and existing rows converted, by accounts/migrations/0010.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup, Transform

from clinic.blind_index import BLIND_INDEX_LENGTH, blind_index
from clinic.encryption import EncryptedFieldMixin

RECOVERY_CODE_KIND = "recovery_code"
#: The stored form of a recovery code (a blind index): the database's CHECK (accounts/db_checks.py).
RECOVERY_CODE_DIGEST = f"^[0-9a-f]{{{BLIND_INDEX_LENGTH}}}$"


def recovery_code_digest(code: str) -> str:
    """What the table holds for `code`; "" (refused by the CHECK, matching nothing) if empty."""
    try:
        return blind_index(RECOVERY_CODE_KIND, code)
    except ValueError:
        return ""


class _AsStoredByDjangoOtp:
    """Deconstruct as django-otp's own field, so migration state stays django-otp's."""

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()  # type: ignore[misc]
        return name, "django.db.models.CharField", args, kwargs


class EncryptedTOTPKey(_AsStoredByDjangoOtp, EncryptedFieldMixin, models.CharField):  # type: ignore[type-arg]
    """`TOTPDevice.key`: hex in Python, AES-GCM ciphertext in the table."""


class StoredDigest(str):
    """A recovery-code hash read from the table (never typed by anyone): saved as it is."""

    __slots__ = ()


class RecoveryCodeDigest(_AsStoredByDjangoOtp, models.CharField):  # type: ignore[type-arg]
    """`StaticToken.token`: any code given is stored and looked up by its keyed hash."""

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, StoredDigest):
            return value
        return recovery_code_digest(str(super().get_prep_value(value)))

    def from_db_value(
        self, value: str | None, expression: object, connection: BaseDatabaseWrapper
    ) -> StoredDigest | None:
        return None if value is None else StoredDigest(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        # Only whole codes compare; a prefix or a pattern of a hash means nothing.
        if lookup_name in ("exact", "in", "isnull"):
            return super().get_lookup(lookup_name)
        raise FieldError(f"Lookup '{lookup_name}' on recovery codes: only exact codes compare.")

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        raise FieldError(f"Transform '{lookup_name}' on recovery codes: only exact codes compare.")


def _install(model: type[models.Model], name: str, field_class: type[models.Field]) -> None:  # type: ignore[type-arg]
    field = model._meta.get_field(name)
    if isinstance(field, field_class):
        return
    if type(field) is not models.CharField:
        raise ImproperlyConfigured(
            f"{model._meta.label}.{name} is no longer django-otp's CharField; "
            "accounts/otp_secrets.py must be revisited before its secrets can be stored."
        )
    field.__class__ = field_class  # type: ignore[assignment]


def install() -> None:
    """Give django-otp's secret columns their stored forms (AccountsConfig.ready)."""
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _install(TOTPDevice, "key", EncryptedTOTPKey)
    _install(StaticToken, "token", RecoveryCodeDigest)
