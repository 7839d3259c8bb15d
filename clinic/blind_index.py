"""Blind indexes: keyed, deterministic fingerprints of PHI for exact-match search.

Encrypted columns use a random nonce per value, so the database cannot compare them. To find
"patient with last name X born on D" we store ``HMAC-SHA256(BLIND_INDEX_KEY, kind \\0 normalised)``
(truncated to 16 bytes, hex) next to the ciphertext and filter on that instead.

Why these choices:

* A separate key (``settings.BLIND_INDEX_KEY``) so a leak of the HMAC key does not expose the
  encryption keys, and vice versa. It never rotates silently: changing it requires recomputing
  every index column.
* ``kind`` is mixed into the MAC so equal strings in different roles (an SSN that looks like a
  phone number) do not produce equal indexes.
* Normalisation happens *before* hashing, because a blind index can only match exactly. Each
  normaliser is documented below; changing one is a data migration (all indexes of that kind).
* Error messages never include the value being indexed -- it is PHI.

Low-entropy inputs (DOB alone, SSN) are brute-forceable by anyone holding the key; the key is the
only protection, so keep it out of the database and out of logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

__all__ = [
    "BLIND_INDEX_LENGTH",
    "KINDS",
    "blind_index",
    "decode_base64_key",
    "last_name_dob_index",
    "normalize",
    "reset_blind_index_key",
]

#: Length of the hex string returned by :func:`blind_index` (use as the column's max_length).
BLIND_INDEX_LENGTH = 32
_DIGEST_BYTES = BLIND_INDEX_LENGTH // 2
_MIN_KEY_BYTES = 32

# Apostrophe/hyphen look-alikes that keyboards, OCR and copy/paste produce for the same name.
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2018\u2019\u02bc\u0060\u00b4\u2032"})
_HYPHENS = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
_WHITESPACE = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D")

_key_cache: bytes | None = None


def decode_base64_key(text: str) -> bytes:
    """Decode standard or urlsafe base64, padding optional; raise ``ValueError`` if invalid.

    Strict (``validate=True``) so a typo in a key is an error, not a silently different key.
    The message never contains the input (it is key material).
    """
    cleaned = text.strip().replace("-", "+").replace("_", "/").rstrip("=")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None


def _get_key() -> bytes:
    """Parse ``settings.BLIND_INDEX_KEY`` once (lazily, so importing this module is free)."""
    global _key_cache
    if _key_cache is None:
        raw = getattr(settings, "BLIND_INDEX_KEY", None)
        if not isinstance(raw, str) or not raw.strip():
            raise ImproperlyConfigured("BLIND_INDEX_KEY must be set to a base64-encoded key.")
        try:
            key = decode_base64_key(raw)
        except ValueError:
            raise ImproperlyConfigured("BLIND_INDEX_KEY is not valid base64.") from None
        if len(key) < _MIN_KEY_BYTES:
            raise ImproperlyConfigured(
                f"BLIND_INDEX_KEY must decode to at least {_MIN_KEY_BYTES} bytes (got {len(key)})."
            )
        _key_cache = key
    return _key_cache


def reset_blind_index_key() -> None:
    """Forget the cached key (tests, ``override_settings``)."""
    global _key_cache
    _key_cache = None


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "BLIND_INDEX_KEY":
        reset_blind_index_key()


setting_changed.connect(_on_setting_changed, dispatch_uid="clinic.blind_index.reset_key")


# --- normalisers ------------------------------------------------------------------------------


def _norm_last_name(value: str) -> str:
    """NFKC, unify apostrophes/hyphens, casefold, collapse whitespace, trim edge punctuation.

    ``"  O\u2019Brien. "`` and ``"o'brien"`` match. Inner punctuation and diacritics are kept:
    ``"Smith-Jones"`` != ``"Smith Jones"`` and ``"Muñoz"`` != ``"Munoz"`` (search both if needed).
    """
    text = unicodedata.normalize("NFKC", value).translate(_APOSTROPHES).translate(_HYPHENS)
    text = _WHITESPACE.sub(" ", text.casefold()).strip()
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    text = text[start:end]
    if not text:
        raise ValueError("last_name is empty after normalisation")
    return text


def _is_edge_junk(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def _norm_dob(value: str | date) -> str:
    """``date`` or ISO-8601 date string -> ``YYYY-MM-DD``. Datetimes are rejected (time zone)."""
    if isinstance(value, datetime):
        raise TypeError("dob must be a date, not a datetime")
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError("dob is not an ISO-8601 date") from None


def _norm_ssn(value: str) -> str:
    """Digits only; exactly nine of them (``"900-00-0001"`` -> ``"900000001"``)."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) != 9:
        raise ValueError("ssn must contain exactly 9 digits")
    return digits


def _norm_mrn(value: str) -> str:
    """NFKC, strip, upper-case. Inner characters are significant (MRN formats vary by site)."""
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if not text:
        raise ValueError("mrn is empty")
    return text


def _norm_phone(value: str) -> str:
    """Digits only; a leading US country code ``1`` is dropped from 11-digit numbers."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not digits:
        raise ValueError("phone contains no digits")
    return digits


def _norm_last_name_dob(value: str) -> str:
    """``"<last name>|<dob>"``; each half normalised as above (split on the *last* ``|``)."""
    last, sep, dob = value.rpartition("|")
    if not sep:
        raise ValueError("last_name_dob must look like '<last name>|<YYYY-MM-DD>'")
    return f"{_norm_last_name(last)}|{_norm_dob(dob)}"


def _norm_username(value: str) -> str:
    """NFKC, as Django's sign-in form does; otherwise exact (usernames are case-sensitive)."""
    text = unicodedata.normalize("NFKC", value)
    if not text:
        raise ValueError("username is empty")
    return text


def _norm_recovery_code(value: str) -> str:
    """NFKC, no whitespace or hyphens, casefolded: a code typed in groups or in capitals is the
    code shown (accounts/otp_secrets.py stores recovery codes by this index)."""
    text = _WHITESPACE.sub("", unicodedata.normalize("NFKC", value).translate(_HYPHENS))
    text = text.replace("-", "").casefold()
    if not text:
        raise ValueError("recovery code is empty")
    return text


_NORMALISERS: dict[str, Callable[[Any], str]] = {
    "last_name": _norm_last_name,
    "dob": _norm_dob,
    "ssn": _norm_ssn,
    "mrn": _norm_mrn,
    "phone": _norm_phone,
    "last_name_dob": _norm_last_name_dob,
    "username": _norm_username,
    "recovery_code": _norm_recovery_code,
}

#: The index kinds this module knows how to normalise.
KINDS = frozenset(_NORMALISERS)


def normalize(kind: str, value: str | date) -> str:
    """Return the canonical text that :func:`blind_index` hashes for ``kind``.

    Raises ``ValueError`` for an unknown kind or an unusable value, ``TypeError`` for a
    non-string (``dob`` also accepts ``date``). Messages never include the value.
    """
    try:
        normaliser = _NORMALISERS[kind]
    except KeyError:
        raise ValueError(f"unknown blind index kind {kind!r}") from None
    if not isinstance(value, str) and not (kind == "dob" and isinstance(value, date)):
        raise TypeError(f"blind index value for {kind!r} must be a str")
    return normaliser(value)


def blind_index(kind: str, value: str | date) -> str:
    """Keyed fingerprint of ``value`` for exact-match lookup; 32 lowercase hex characters."""
    message = kind.encode("utf-8") + b"\x00" + normalize(kind, value).encode("utf-8")
    digest = hmac.new(_get_key(), message, hashlib.sha256).digest()
    return digest[:_DIGEST_BYTES].hex()


def last_name_dob_index(last_name: str, dob: str | date) -> str:
    """Combined index for the front-desk "last name + date of birth" search."""
    return blind_index("last_name_dob", f"{_norm_last_name(last_name)}|{_norm_dob(dob)}")
