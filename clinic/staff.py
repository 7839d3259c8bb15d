"""Which of the clinic's groups a staff member belongs to, the database role that goes with it,
and access helpers for views."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from clinic import roles
from clinic.choice_fields import ReadOnceModelChoiceField


def staff_group(user: Any) -> str | None:
    """The user's one mapped group name, or None (no group, or several: no access)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if hasattr(user, "_clinic_group"):
        return user._clinic_group  # type: ignore[no-any-return]
    return remember_group(user, user.groups.values_list("name", flat=True))


def remember_group(user: Any, group_names: Any) -> str | None:
    """Keep the user's one mapped group, from all their group names, on the user object (it
    lives for one request); `staff_group` then asks the database nothing more."""
    names = [n for n in group_names if n in roles.GROUP_ROLES]
    group = names[0] if len(names) == 1 else None
    user._clinic_group = group
    return group


def database_role_for(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The group role of a signed-in user; without exactly one clinic group, the bare signed-in
    role (their own account rows, no PHI); None for an inactive user (the web role)."""
    if not user.is_active:
        return None
    group = staff_group(user)
    return roles.GROUP_ROLES[group] if group else roles.SIGNED_IN_ROLE


def clinician_choices() -> Any:
    """Active clinicians by name: the choices of every "which clinician" field."""
    return (
        get_user_model()
        .objects.filter(groups__name=roles.CLINICIAN, is_active=True)
        .only("id", "username", "first_name", "last_name")
        .order_by("last_name", "first_name", "username")
    )


class ClinicianChoiceField(ReadOnceModelChoiceField):
    """A clinician, shown by full name (or username when the name is empty); the list is read
    once per form (clinic/choice_fields.py)."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()
