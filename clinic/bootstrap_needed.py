"""What only the superuser's bootstrap step (clinic/bootstrap.py) may make: the memberships it
grants, and the error the owner login raises when it finds one missing. A module of its own so
that provisioning can check without importing the bootstrap (which builds on provisioning)."""

from __future__ import annotations

from clinic import roles


class BootstrapNeeded(RuntimeError):
    """The owner login found what only the bootstrap step can make or change."""


HINT = (
    "run `manage.py bootstrap_db` with DATABASE_BOOTSTRAP_URL naming the database's superuser "
    "(or administrator) login, then provision_db again (docs/deployment.md)"
)


def wanted_memberships() -> list[tuple[str, str]]:
    """(role, member) pairs: every group inherits the sign-in rights; the web login may switch
    to each group (NOINHERIT: it holds none of their rights itself); the owner creates the
    analyst views as their owner."""
    groups = list(roles.GROUP_ROLES.values())
    pairs = [(roles.SIGNED_IN_ROLE, group) for group in groups]
    pairs += [(group, roles.WEB_ROLE) for group in groups]
    pairs.append((roles.SIGNED_IN_ROLE, roles.WEB_ROLE))
    pairs.append((roles.ANALYTICS_VIEW_OWNER, roles.OWNER_ROLE))
    return pairs
