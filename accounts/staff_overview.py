"""The administrator's home page: the staff accounts at a glance and what needs doing about them.

Accounts per role, accounts without a role (they see nothing until given exactly one),
accounts that must set up two-step sign-in and have not, and the usernames locked out now;
each with the Django admin page that changes it. Read under the administrator's own role (it
manages these tables, accounts/db_grants.py); no patient data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import accounts_for, locked_out
from accounts.mfa import mfa_required
from clinic import roles

RECENT_SHOWN = 5


@dataclass(frozen=True)
class RoleCount:
    role: str
    active: int


def administrator_overview(request: HttpRequest) -> dict[str, object]:
    users = list(
        get_user_model()
        .objects.prefetch_related("groups")
        .order_by("-date_joined")
        .only("id", "username", "is_active", "is_superuser", "date_joined", "last_login")
    )
    active = [user for user in users if user.is_active]
    per_role: Counter[str] = Counter()
    without_role = []
    for user in active:
        names = [group.name for group in user.groups.all() if group.name in roles.GROUP_ROLES]
        # What staff_group() would read again, one query a user.
        user._clinic_group = names[0] if len(names) == 1 else None  # type: ignore[attr-defined]
        if user._clinic_group:  # type: ignore[attr-defined]
            per_role[user._clinic_group] += 1  # type: ignore[attr-defined]
        else:
            without_role.append(user)
    with_device = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    missing_mfa = [u for u in active if mfa_required(u) and u.pk not in with_device]
    locked = locked_out("username")
    locked_names = accounts_for(row["value"] for row in locked)
    return {
        "role_counts": [RoleCount(role, per_role[role]) for role in roles.GROUP_ROLES],
        "active_count": len(active),
        "inactive_count": len(users) - len(active),
        "without_role": without_role,
        "missing_mfa": missing_mfa,
        "locked": [{**row, "account": locked_names.get(row["value"], "")} for row in locked],
        "recent": users[:RECENT_SHOWN],
    }
