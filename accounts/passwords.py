"""Password hashes the database cannot read: an Argon2 hash encrypted with the field keys.

Stored form (auth_user.password)::

    argon2_enc$v1:<key id>:<base64url(nonce || ciphertext || tag)>

The ciphertext is that of an ordinary Django hash (the *inner* hash: `argon2$...`, or an older
`pbkdf2_sha256$...` wrapped by the migration that encrypted the existing hashes), sealed with
clinic/encryption.py for the column `auth_user.password` (the AAD). The keys live in the
application's settings, never in the database: the web login, which reads auth_user before
anyone has signed in, and every backup hold only ciphertext, so a stolen value cannot be
attacked offline without the keys.

Verification decrypts and hands the inner hash to its own hasher. Django re-hashes on the next
sign-in (`must_update`) a password whose inner hash is not Argon2 with today's parameters, or
whose ciphertext is under an older key; plain `argon2$` and `pbkdf2_sha256$` values (from before
this hasher) verify through the hashers listed after it and are upgraded the same way. The
database refuses anything else but an unusable password (accounts/db_checks.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import (
    UNUSABLE_PASSWORD_PREFIX,
    BasePasswordHasher,
    get_hasher,
    identify_hasher,
)
from django.utils.translation import gettext_noop as _

from clinic.encryption import (
    current_key_id,
    decrypt_value,
    encrypt_value,
    key_id_of,
    register_prefixed_column,
)

ALGORITHM = "argon2_enc"
PREFIX = f"{ALGORITHM}$"
AAD = "auth_user.password"
# rotate_field_keys re-encrypts it with the encrypted fields.
register_prefixed_column("auth_user", "id", "password", PREFIX)
# The hasher the inner hash of a new password comes from (settings.PASSWORD_HASHERS, second).
INNER_ALGORITHM = "argon2"


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def wrap(inner: str) -> str:
    """The stored form of the Django hash `inner`, under the current field key."""
    if is_encrypted(inner) or inner.startswith(UNUSABLE_PASSWORD_PREFIX) or not inner:
        raise ValueError("only a usable, unencrypted password hash can be wrapped")
    return PREFIX + encrypt_value(inner, AAD)


def unwrap(stored: str) -> str:
    """The Django hash inside `stored`; DecryptionError (no value in its message) if the
    configured keys cannot open it."""
    if not is_encrypted(stored):
        raise ValueError("not an encrypted password hash")
    inner = decrypt_value(stored[len(PREFIX) :], AAD)
    if is_encrypted(inner):
        raise ValueError("an encrypted password hash holds another one")
    return inner


def key_id(stored: str) -> str:
    """The field key id `stored` is encrypted under (header only, for key rotation)."""
    return key_id_of(stored[len(PREFIX) :])


class EncryptedArgon2PasswordHasher(BasePasswordHasher):
    """Argon2 (the hasher configured for "argon2": accounts/hashers.py), sealed with the field
    keys."""

    algorithm = ALGORITHM

    @staticmethod
    def _inner(encoded: str) -> tuple[BasePasswordHasher, str]:
        inner = unwrap(encoded)
        return identify_hasher(inner), inner

    @staticmethod
    def _new_hasher() -> BasePasswordHasher:
        # By name, through settings: a hasher configured for "argon2" (the benchmarks' counting
        # one) does the work.
        return get_hasher(INNER_ALGORITHM)

    def salt(self) -> str:
        return self._new_hasher().salt()

    def encode(self, password: str, salt: str) -> str:
        return wrap(self._new_hasher().encode(password, salt))

    def decode(self, encoded: str) -> dict[str, Any]:
        hasher, inner = self._inner(encoded)
        return {**hasher.decode(inner), "algorithm": self.algorithm, "key_id": key_id(encoded)}

    def verify(self, password: str, encoded: str) -> bool:
        try:
            hasher, inner = self._inner(encoded)
        except ValueError:  # an inner hasher no longer installed: as Django, no match
            return False
        return hasher.verify(password, inner)

    def must_update(self, encoded: str) -> bool:
        if key_id(encoded) != current_key_id():
            return True
        try:
            hasher, inner = self._inner(encoded)
        except ValueError:  # nothing to upgrade: it cannot verify
            return False
        return hasher.algorithm != INNER_ALGORITHM or hasher.must_update(inner)

    def harden_runtime(self, password: str, encoded: str) -> None:
        try:
            hasher, inner = self._inner(encoded)
        except ValueError:
            return
        hasher.harden_runtime(password, inner)

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        hasher, _inner = self._inner(encoded)
        return {
            _("algorithm"): self.algorithm,
            _("key id"): key_id(encoded),
            _("hashed with"): str(hasher.algorithm),
        }
