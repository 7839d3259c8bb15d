"""Field-level encryption (AES-256-GCM) for PHI columns, plus Django model fields using it.

Why application-level encryption: database dumps, replicas and backups then hold only ciphertext;
the keys live in settings (environment / secret store), never in the database.

Stored format (a ``text`` column)::

    v1:<key_id>:<base64url(nonce || ciphertext || tag), no padding>

* A fresh random 12-byte nonce per value, so equal plaintexts give different ciphertexts.
  Consequently encrypted columns cannot be searched, compared, sorted or made unique -- use a
  blind index column (:mod:`clinic.blind_index`) for exact-match search.
* The associated data (AAD) is ``"<db_table>.<column>"``: a ciphertext copied into another
  column (or another table) fails to decrypt instead of silently moving PHI around.
* ``key_id`` names the key used, so keys can rotate without downtime:
  ``settings.FIELD_ENCRYPTION_KEYS = ["k2:<base64>", "k1:<base64>"]`` -- the first key encrypts,
  every listed key decrypts. Rows still under an old key are re-encrypted by a management command
  using :func:`key_id_of`, :func:`current_key_id`, :func:`decrypt_value` and
  :func:`encrypt_value`.

Errors never include plaintext, ciphertext or key material (they end up in logs).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup, Transform

from clinic.blind_index import decode_base64_key, reset_blind_index_key

__all__ = [
    "DecryptionError",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedEmailField",
    "EncryptedFieldMixin",
    "EncryptedTextField",
    "current_key_id",
    "decrypt_value",
    "encrypt_value",
    "key_id_of",
    "json_columns",
    "prefixed_columns",
    "register_json_column",
    "register_prefixed_column",
    "reset_keyring",
]

FORMAT_VERSION = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, wrong key, tampering, wrong AAD).

    Deliberately not a ``ValueError``: callers must not treat it as bad user input and must
    never fall back to showing the stored text.
    """


@dataclass(frozen=True)
class _Keyring:
    current_id: str
    keys: dict[str, AESGCM]


_keyring: _Keyring | None = None


def _parse_keyring(raw: object) -> _Keyring:
    """Validate ``FIELD_ENCRYPTION_KEYS`` strictly; messages mention positions and ids only."""
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be a list of 'keyid:base64key' strings."
        )
    if not raw:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty; at least one key is needed.")
    keys: dict[str, AESGCM] = {}
    for position, entry in enumerate(raw, start=1):
        where = f"FIELD_ENCRYPTION_KEYS entry #{position}"
        if not isinstance(entry, str) or ":" not in entry:
            raise ImproperlyConfigured(f"{where} is malformed; expected 'keyid:base64key'.")
        key_id, _, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not _KEY_ID_RE.match(key_id):
            raise ImproperlyConfigured(
                f"{where} has an invalid key id; use 1-32 characters from [A-Za-z0-9_-]."
            )
        try:
            key = decode_base64_key(encoded)
        except ValueError:
            raise ImproperlyConfigured(
                f"{where} (key id {key_id!r}) is not valid base64."
            ) from None
        if len(key) != _KEY_BYTES:
            raise ImproperlyConfigured(
                f"{where} (key id {key_id!r}) must decode to {_KEY_BYTES} bytes, got {len(key)}."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS lists key id {key_id!r} twice.")
        keys[key_id] = AESGCM(key)
    return _Keyring(current_id=next(iter(keys)), keys=keys)


def _get_keyring() -> _Keyring:
    """Parse settings on first use, so a missing key fails loudly but importing stays cheap."""
    global _keyring
    if _keyring is None:
        _keyring = _parse_keyring(getattr(settings, "FIELD_ENCRYPTION_KEYS", None))
    return _keyring


def reset_keyring() -> None:
    """Drop cached keys (encryption keyring and blind index key); next use re-reads settings."""
    global _keyring
    _keyring = None
    reset_blind_index_key()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"):
        reset_keyring()


setting_changed.connect(_on_setting_changed, dispatch_uid="clinic.encryption.reset_keyring")


def current_key_id() -> str:
    """Id of the key new values are encrypted with (the first configured key)."""
    return _get_keyring().current_id


def encrypt_value(plaintext: str, aad: str) -> str:
    """Encrypt ``plaintext`` for the column named by ``aad`` (``"table.column"``)."""
    if not isinstance(plaintext, str):
        raise TypeError("encrypt_value() expects a str plaintext")
    ring = _get_keyring()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = ring.keys[ring.current_id].encrypt(
        nonce, plaintext.encode("utf-8"), aad.encode("utf-8")
    )
    payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{FORMAT_VERSION}:{ring.current_id}:{payload}"


def _split(stored: str, where: str) -> tuple[str, str]:
    """Return ``(key_id, payload)`` or raise ``DecryptionError`` without echoing the value."""
    version, key_id, payload = [*stored.split(":", 2), "", ""][:3]
    if version != FORMAT_VERSION or not _KEY_ID_RE.match(key_id) or not payload:
        raise DecryptionError(f"{where}: stored value is not in {FORMAT_VERSION} format")
    return key_id, payload


def key_id_of(stored: str) -> str:
    """Key id a stored value was encrypted with (for key rotation); ``DecryptionError`` if bad.

    Reads the header only; the value is not authenticated until :func:`decrypt_value`.
    """
    if not isinstance(stored, str):
        raise DecryptionError("key_id_of: stored value is not text")
    return _split(stored, "key_id_of")[0]


def decrypt_value(stored: str, aad: str) -> str:
    """Decrypt a value produced by :func:`encrypt_value` for the same ``aad``."""
    if not isinstance(stored, str):
        raise DecryptionError(f"{aad}: stored value is not text")
    key_id, payload = _split(stored, aad)
    aead = _get_keyring().keys.get(key_id)
    if aead is None:
        raise DecryptionError(f"{aad}: unknown key id {key_id!r}")
    try:
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError(f"{aad}: key id {key_id!r}: payload is not base64url") from None
    if len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError(f"{aad}: key id {key_id!r}: payload too short")
    try:
        data = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad.encode("utf-8"))
        return data.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise DecryptionError(
            f"{aad}: key id {key_id!r}: authentication failed "
            "(wrong key, tampered data, or value belongs to another column)"
        ) from None


# --- model fields -----------------------------------------------------------------------------


class EncryptedFieldMixin(models.Field):  # type: ignore[type-arg]
    """Stores the field's value encrypted in a ``text`` column; Python sees the plaintext.

    Only ``__isnull`` lookups are allowed: every other lookup or transform raises
    ``FieldError`` instead of comparing ciphertexts and silently returning wrong rows (so
    ``filter(f=None)`` must be written ``filter(f__isnull=True)``). Search through a blind-index
    column instead. ``order_by()``, aggregates and database functions on these fields operate on
    ciphertext and are meaningless -- sort in Python after decrypting. ``unique``, ``db_index``
    and ``primary_key`` are rejected by a system check for the same reason.

    Serialization (``dumpdata``) emits plaintext, as with any model field: treat fixtures as PHI.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "text"

    def cast_db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "text"

    def get_internal_type(self) -> str:
        # Backends pick converters/casts by internal type; ciphertext is always plain text
        # (e.g. SQLite would otherwise try to parse the ciphertext of a date column as a date).
        return "TextField"

    @property
    def aad(self) -> str:
        """Associated data binding ciphertext to ``"<db_table>.<column>"``."""
        model = getattr(self, "model", None)
        if model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} is not attached to a model")
        return f"{model._meta.db_table}.{self.column}"

    def _to_plaintext(self, value: Any) -> str:
        return str(value)

    def _from_plaintext(self, text: str) -> Any:
        return text

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt_value(self._to_plaintext(value), self.aad)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        # Skip the parent's adapters (e.g. adapt_datefield_value): the value is already text.
        return value if prepared else self.get_prep_value(value)

    def from_db_value(
        self, value: str | None, expression: object, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        return self._from_plaintext(decrypt_value(value, self.aad))

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise self._no_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        raise self._no_lookup(lookup_name)

    def _no_lookup(self, lookup_name: str) -> FieldError:
        return FieldError(
            f"Lookup '{lookup_name}' on {self.name!r}: encrypted fields cannot be filtered; "
            "use the blind index (only __isnull is supported)."
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        options = {
            "primary_key": self.primary_key,
            "unique": getattr(self, "_unique", False),
            "db_index": getattr(self, "db_index", False),
        }
        for option, enabled in options.items():
            if enabled:
                errors.append(
                    checks.Error(
                        f"Encrypted fields cannot use {option}=True (ciphertexts are random).",
                        hint="Add a blind-index column and put the index/constraint on that.",
                        obj=self,
                        id="clinic.E001",
                    )
                )
        return errors


class EncryptedCharField(EncryptedFieldMixin, models.CharField):  # type: ignore[type-arg]
    """``CharField`` whose ``max_length`` limits the plaintext; the column is ``text``."""


class EncryptedTextField(EncryptedFieldMixin, models.TextField):  # type: ignore[type-arg]
    """Encrypted ``TextField``."""


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):  # type: ignore[type-arg]
    """Encrypted ``EmailField`` (validation and form field as for ``EmailField``)."""


class EncryptedDateField(EncryptedFieldMixin, models.DateField):  # type: ignore[type-arg]
    """Encrypted ``DateField``; stored as the ISO date string, returned as ``datetime.date``."""

    def _to_plaintext(self, value: Any) -> str:
        if not isinstance(value, date):
            raise TypeError(f"{self.name!r} expects a date")
        return value.isoformat()

    def _from_plaintext(self, text: str) -> date:
        return date.fromisoformat(text)


@dataclass(frozen=True)
class PrefixedColumn:
    """A column outside the models' encrypted fields whose encrypted values are `prefix` then
    the `v1:` form, for `<table>.<column>` (auth_user.password: accounts/passwords.py); a value
    without the prefix is not encrypted (an unusable password) and is left alone."""

    table: str
    pk_column: str
    column: str
    prefix: str

    @property
    def aad(self) -> str:
        return f"{self.table}.{self.column}"


_PREFIXED_COLUMNS: dict[tuple[str, str], PrefixedColumn] = {}


def register_prefixed_column(table: str, pk_column: str, column: str, prefix: str) -> None:
    """Declare a PrefixedColumn, so key rotation re-encrypts it (the app owning it calls this
    when it is loaded; clinic imports no app)."""
    _PREFIXED_COLUMNS[(table, column)] = PrefixedColumn(table, pk_column, column, prefix)


def prefixed_columns() -> list[PrefixedColumn]:
    return sorted(_PREFIXED_COLUMNS.values(), key=lambda c: (c.table, c.column))


@dataclass(frozen=True)
class JsonColumn:
    """A jsonb column holding copies of rows of other tables as stored, their encrypted values
    still ciphertext bound to their own table and column (chart_history.row: chart/apps.py).
    `kind_column` names the table each row was copied from; `keys` gives, for each such table,
    the encrypted keys of the copy. A value's AAD is `<that table>.<key>`."""

    table: str
    pk_column: str
    column: str
    kind_column: str
    keys: tuple[tuple[str, tuple[str, ...]], ...]

    def aad(self, kind: str, key: str) -> str:
        return f"{kind}.{key}"


_JSON_COLUMNS: dict[tuple[str, str], JsonColumn] = {}


def register_json_column(
    table: str, pk_column: str, column: str, kind_column: str, keys: dict[str, tuple[str, ...]]
) -> None:
    """Declare a JsonColumn, so key rotation re-encrypts the values inside it (the app owning it
    calls this when it is ready; clinic imports no app)."""
    _JSON_COLUMNS[(table, column)] = JsonColumn(
        table, pk_column, column, kind_column, tuple(sorted(keys.items()))
    )


def json_columns() -> list[JsonColumn]:
    return sorted(_JSON_COLUMNS.values(), key=lambda c: (c.table, c.column))


def encrypt_column_in_place(cursor: Any, table: str, key_column: str, column: str) -> int:
    """Encrypt the values of `table.column` that are not yet ciphertext of that column (for the
    migration that turns a plaintext column into an encrypted one); returns how many changed.
    Names come from migrations, never from input."""

    aad = f"{table}.{column}"

    def is_encrypted(text: str) -> bool:
        try:
            decrypt_value(text, aad)
        except DecryptionError:
            return False
        return True

    cursor.execute(f'SELECT "{key_column}", "{column}" FROM "{table}"')  # noqa: S608
    rows = [(key, text) for key, text in cursor.fetchall() if text is not None]
    changed = 0
    for key, text in rows:
        if is_encrypted(text):
            continue
        # "" too: the field stores every value, empty or not, encrypted.
        cursor.execute(
            f'UPDATE "{table}" SET "{column}" = %s WHERE "{key_column}" = %s',  # noqa: S608
            [encrypt_value(text, aad), key],
        )
        changed += 1
    return changed


@dataclass
class DecryptReport:
    values: int
    columns: int


def check_encrypted_columns(using: str = "owner") -> DecryptReport:
    """Decrypt every stored value of every encrypted column (after a restore, a key change);
    raises DecryptionError at the first value the configured keys cannot read."""
    from django.apps import apps

    values = columns = 0
    for model in apps.get_models():
        fields = [f for f in model._meta.fields if isinstance(f, EncryptedFieldMixin)]
        if not fields:
            continue
        columns += len(fields)
        names = [f.name for f in fields]
        rows = model._default_manager.using(using).values_list(*names)
        for row in rows.iterator(chunk_size=2000):
            values += sum(1 for value in row if value is not None)
    for column in json_columns():
        values += _check_json_column(column, using)
        columns += sum(len(keys) for _kind, keys in column.keys)
    return DecryptReport(values=values, columns=columns)


def _check_json_column(column: JsonColumn, using: str) -> int:
    """Decrypt every encrypted value copied into `column` (chart_history.row)."""
    import json

    from django.db import connections

    encrypted = dict(column.keys)
    values = 0
    with connections[using].cursor() as cursor:
        cursor.execute(
            f'SELECT "{column.kind_column}", "{column.column}"::text FROM "{column.table}"'  # noqa: S608 (registered names)
        )
        for kind, text in cursor:
            row = json.loads(text)
            for key in encrypted.get(kind, ()):
                if isinstance(row.get(key), str):
                    decrypt_value(row[key], column.aad(kind, key))
                    values += 1
    return values
