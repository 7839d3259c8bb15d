"""Database routing: only the owner connection migrates; the web connection never does DDL.

`default` (clinic_web) and `owner` (clinic_owner) are two logins to the same database, so
objects fetched through one may be related to objects of the other.
"""

from __future__ import annotations

from typing import Any

OWNER_ALIAS = "owner"
SAME_DATABASE = frozenset({"default", OWNER_ALIAS})


class OwnerMigratesRouter:
    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == OWNER_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: object) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= SAME_DATABASE:
            return True
        return None
