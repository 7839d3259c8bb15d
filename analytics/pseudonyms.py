"""The analysts' patient key: a keyed HMAC-SHA256 of the patient id's 16 bytes under
settings.PSEUDONYM_KEY, first PSEUDONYM_HEX_DIGITS hex digits. The database computes it in the
de-identified view (analytics/db_grants.py) from a copy of the key only the view's owner reads;
`pseudonym` computes the same value in Python (the tests compare the two)."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from clinic.blind_index import decode_base64_key

PSEUDONYM_HEX_DIGITS = 20  # 80 bits: no collision in any realistic patient count


def pseudonym_key_bytes() -> bytes:
    raw = getattr(settings, "PSEUDONYM_KEY", "")
    try:
        key = decode_base64_key(raw) if raw else b""
    except ValueError:
        raise ImproperlyConfigured("PSEUDONYM_KEY is not valid base64.") from None
    if len(key) < 32:
        raise ImproperlyConfigured("PSEUDONYM_KEY must decode to at least 32 bytes.")
    return key


def pseudonym(patient_id: uuid.UUID, key: bytes | None = None) -> str:
    digest = hmac.new(key or pseudonym_key_bytes(), patient_id.bytes, hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]
