"""Only the owner connection runs migrations; the web connection never does DDL."""

from __future__ import annotations

OWNER_ALIAS = "owner"


class OwnerMigratesRouter:
    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == OWNER_ALIAS
