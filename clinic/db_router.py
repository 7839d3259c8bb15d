"""Database routing: only the owner connection migrates; the web connection never does DDL;
analytics models are read from the analytics database (a read replica when one is configured)
and never written there.

`default` (clinic_web) and `owner` (clinic_owner) are two logins to the same database, so
objects fetched through one may be related to objects of the other.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

OWNER_ALIAS = "owner"
SAME_DATABASE = frozenset({"default", OWNER_ALIAS})


class OwnerMigratesRouter:
    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == OWNER_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: object) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= SAME_DATABASE:
            return True
        return None


class AnalyticsReadRouter:
    """ORM reads of the analytics app go where its raw queries go (settings.ANALYTICS_DATABASE);
    writes never go to the replica (a standby refuses them anyway)."""

    def db_for_read(self, model: type, **hints: object) -> str | None:
        if model._meta.app_label == "analytics":  # type: ignore[attr-defined]
            return settings.ANALYTICS_DATABASE
        return None

    def db_for_write(self, model: type, **hints: object) -> str | None:
        return None
