"""Django's database sessions, reached only through narrow functions and stored by digest.

The cookie's session key is a bearer credential: whoever holds it is signed in. So the database
never holds one: `django_session.session_key` (and `accounts.StaffSession.session_key`) is the
digest of the key (SHA-256, 40 hex digits), and no login of the application may read, write or
delete `django_session` rows directly. The web login and every group role may only call:

- `clinic_session_load(key)`: the data of the unexpired session with that key;
- `clinic_session_exists(key)`, `clinic_session_save(key, data, expiry, create)`,
  `clinic_session_delete(key)`, `clinic_sessions_clear_expired()`;
- `clinic_sessions_live(digests)`: which of these digests are unexpired sessions ("My sessions");
- `clinic_sessions_end(digests)`: end sessions of the verified caller, or of anyone for the
  administrator's verified role (accounts/db_grants.py).

SQL injected into any request can then read or change only the session whose key it already
holds (its own), and cannot copy another session's signed data into its own to take it over.
The functions are SECURITY DEFINER, owned by the owner login, and compute the digest
themselves: a digest read from "My sessions" is no key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router

DIGEST_HEX_DIGITS = 40
DIGEST_SQL = "left(encode(sha256(convert_to({key}, 'UTF8')), 'hex'), 40)"


def digest(session_key: str) -> str:
    """What the database stores for `session_key` (the same as DIGEST_SQL)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:DIGEST_HEX_DIGITS]


class SessionStore(DatabaseSessionStore):
    """The database session store, every statement a call of one of the functions above."""

    def _call(self, function: str, *args: Any) -> Any:
        placeholders = ", ".join(["%s"] * len(args))
        with connections[self._alias].cursor() as cursor:
            cursor.execute(f"SELECT {function}({placeholders})", list(args))
            return cursor.fetchone()[0]

    @property
    def _alias(self) -> str:
        return router.db_for_write(self.model)

    def load(self) -> dict[str, Any]:
        data = self._call("clinic_session_load", self.session_key) if self.session_key else None
        if data is None:
            self._session_key = None
            return {}
        return self.decode(data)

    def exists(self, session_key: str) -> bool:
        return bool(self._call("clinic_session_exists", session_key))

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        expiry: datetime = self.get_expiry_date()
        saved = self._call(
            "clinic_session_save", self.session_key, self.encode(data), expiry, must_create
        )
        if not saved:
            raise CreateError if must_create else UpdateError
        return None

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is not None:
            self._call("clinic_session_delete", key)

    @classmethod
    def clear_expired(cls) -> None:
        with connections[router.db_for_write(cls.get_model_class())].cursor() as cursor:
            cursor.execute("SELECT clinic_sessions_clear_expired()")

    # The asynchronous variants would reach the table through the ORM, which no web login may:
    # the clinic serves requests synchronously, so they refuse clearly instead.
    async def aload(self) -> dict[str, Any]:
        raise NotImplementedError("Sessions are loaded synchronously (accounts/session_store.py)")

    async def aexists(self, session_key: str) -> bool:
        raise NotImplementedError("Sessions are read synchronously (accounts/session_store.py)")

    async def asave(self, must_create: bool = False) -> None:
        raise NotImplementedError("Sessions are saved synchronously (accounts/session_store.py)")

    async def adelete(self, session_key: str | None = None) -> None:
        raise NotImplementedError("Sessions are deleted synchronously (accounts/session_store.py)")


def live_digests(digests: list[str], using: str = "default") -> set[str]:
    """Those of `digests` that name an unexpired session."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT clinic_sessions_live(%s)", [digests])
        return {row[0] for row in cursor.fetchall()}


def end_by_digest(digests: list[str], using: str = "default") -> int:
    """End the sessions with these digests (the caller's own, or anyone's for an administrator);
    returns how many were ended."""
    if not digests:
        return 0
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT clinic_sessions_end(%s)", [digests])
        return int(cursor.fetchone()[0])
