"""Security administration in the access log: a staff account created, activated or
deactivated, its password changed, added to or removed from a group.

Written from model signals (`post_save` on the user model, `m2m_changed` on `User.groups`)
rather than from the admin's hooks (`save_model`, `log_change`): every path that changes an
account passes through the model, whichever page, form, action or command does it, while admin
hooks see only the admin's own forms (not `group.user_set.add`, a management command, a future
page), and `log_change` runs once per form with a text message, not per change. A signal runs
inside the `save()` that sends it, so the event is appended in the same transaction as the
change (in a request, the request's own; `clinic.access_log.record_change`): if the change rolls
back, its event goes with it, and a change cannot commit without its event. The `m2m_changed`
signal fires for the groups that really changed (`set()` adds and removes only the difference).

Events carry the account as `staff:<id>` and, for groups, the clinic role's name (a fixed
vocabulary) or `group:<id>`: never a username, password or code. The author is whoever acts in
the transaction (the administrator in the admin; anonymous in the owner's shell).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from clinic import access_log, roles

_BEFORE_ATTR = "_clinic_security_before"


def _staff(user_id: Any) -> str:
    return f"staff:{user_id}"


def _group_reason(group: Group) -> str:
    # Only the clinic's declared role names are written as text; any other group by id.
    return group.name if group.name in roles.GROUP_ROLES else f"group:{group.pk}"


@receiver(pre_save, sender=User, dispatch_uid="accounts.security_events.before")
def _remember_before(sender: Any, instance: User, raw: bool = False, **kwargs: Any) -> None:
    setattr(instance, _BEFORE_ATTR, None)
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = kwargs.get("update_fields")
    if fields is not None and not {"is_active", "password"} & set(fields):
        return  # e.g. last_login at sign-in: nothing watched changes, no extra query
    before = (
        sender.objects.using(kwargs.get("using") or "default")
        .filter(pk=instance.pk)
        .values("is_active", "password")
        .first()
    )
    setattr(instance, _BEFORE_ATTR, before)


@receiver(post_save, sender=User, dispatch_uid="accounts.security_events.saved")
def _account_saved(
    sender: Any, instance: User, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    using = kwargs.get("using") or "default"
    target = _staff(instance.pk)
    if created:
        access_log.record_change(access_log.STAFF_CREATED, object_id=target, using=using)
        return
    before = getattr(instance, _BEFORE_ATTR, None)
    setattr(instance, _BEFORE_ATTR, None)
    if before is None:
        return
    if before["is_active"] != instance.is_active:
        action = access_log.STAFF_ACTIVATED if instance.is_active else access_log.STAFF_DEACTIVATED
        access_log.record_change(action, object_id=target, using=using)
    # set_password() leaves the raw value in `_password` until save() ends; a hash upgrade at
    # sign-in clears it and saves only that field, so it is not a change. A full save with a
    # different stored value covers "disable password sign-in" (set_unusable_password).
    deliberate = getattr(instance, "_password", None) is not None
    replaced = kwargs.get("update_fields") is None and before["password"] != instance.password
    if deliberate or replaced:
        reason = "" if instance.has_usable_password() else "unusable"
        access_log.record_change(
            access_log.PASSWORD_CHANGED, object_id=target, reason=reason, using=using
        )


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.security_events.groups")
def _groups_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    using: str,
    **kwargs: Any,
) -> None:
    if action == "pre_clear":
        # clear() names no ids: remember who is about to lose what.
        if reverse:
            setattr(
                instance,
                _BEFORE_ATTR,
                list(instance.user_set.using(using).values_list("pk", flat=True)),
            )
        else:
            setattr(
                instance,
                _BEFORE_ATTR,
                list(instance.groups.using(using).values_list("pk", flat=True)),
            )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        pk_set = set(getattr(instance, _BEFORE_ATTR, None) or [])
        setattr(instance, _BEFORE_ATTR, None)
    if not pk_set:
        return
    event = access_log.GROUP_ADDED if action == "post_add" else access_log.GROUP_REMOVED
    if reverse:  # group.user_set.add(users): the instance is the group
        pairs = [(user_id, instance) for user_id in sorted(pk_set)]
    else:
        groups = Group.objects.using(using).filter(pk__in=pk_set).order_by("pk")
        pairs = [(instance.pk, group) for group in groups]
    for user_id, group in pairs:
        access_log.record_change(
            event, object_id=_staff(user_id), reason=_group_reason(group), using=using
        )
