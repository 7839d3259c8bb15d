"""Password sign-in: Django's ModelBackend, with the re-hash of an outdated password saved the
way the database permits.

Django re-hashes a password whose stored form is outdated (an older hasher or its parameters,
or, here, a field key that has since rotated: accounts/passwords.py) when the user proves it,
and ModelBackend saves it from inside authenticate(), before sign-in: as the bare web login,
which may update no column of auth_user but `last_login`. The database lets a user change
only their own password row, by their verified staff id (accounts/db_grants.py). So, as for the
session's row at sign-in (accounts/sessions.py), the app names the user who has just proved
their password, for one transaction: it switches to the user's own database role and sets a
token it mints for them; SQL on the connection can do neither.

A password proved again inside a signed-in request (re-authentication, break the glass) is
not re-hashed then: the session holds a digest of the stored value, and changing it mid-session
would sign the user out. The next sign-in does it.
"""

from __future__ import annotations

import functools
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections, transaction
from django.db.models import OuterRef
from django.http import HttpRequest

from accounts import mfa
from accounts.user_lookup import as_own_user, looking_up
from clinic.compiled_sql import CompiledSQL, compile_once
from clinic.staff import database_role_for, remember_group
from clinic.staff_identity import SETTING, set_token

WEB_ALIAS = "default"
UserModel = get_user_model()


class PasswordBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            # The one account this attempt names, readable for its look-up only
            # (accounts/user_lookup.py).
            with looking_up(username):
                user = UserModel._default_manager.get_by_natural_key(username)
        except UserModel.DoesNotExist:
            # As ModelBackend: hash once, so an unknown username takes as long as a known one.
            UserModel().set_password(password)
            return None
        outdated: list[str] = []
        if not check_password(password, user.password, setter=outdated.append):
            return None
        if not self.user_can_authenticate(user):
            return None
        if outdated and not _signed_in(request):
            save_rehashed_password(user, password)
        return user

    def get_user(self, user_id: Any) -> Any:
        """The session's own user, read as that user (the web login reads no other account
        before the request's role switch: accounts/user_lookup.py), with their group names in
        the same statement (every request needs the group: its database role, the pages) and
        whether they have a confirmed device (the MFA gate asks on every request of a user not
        yet verified: accounts/mfa.py). The statement is compiled once per process
        (`user_load_sql`): building it with the ORM cost about 1 ms of every request."""
        load = user_load_sql()
        with as_own_user(user_id):
            found: list[Any] = list(
                UserModel._default_manager.raw(load.sql, load.params(int(user_id)))
            )
        if not found:
            return None
        user = found[0]
        remember_group(user, user.clinic_group_names)
        return user if self.user_can_authenticate(user) else None

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )


# A key no account has (ids start at 1; within the column's 32 bits, or Django would compile
# an empty result): marks the user id's place among the compiled
# statement's parameters.
_PLACEHOLDER_ID = -1_987_654_321


@functools.cache
def user_load_sql() -> CompiledSQL:
    """The user load's SQL (clinic/compiled_sql.py): the account's row, its group names and
    whether it has a confirmed device, in one statement."""
    query = (
        UserModel._default_manager.annotate(
            clinic_group_names=ArraySubquery(
                Group.objects.filter(user=OuterRef("pk")).values("name")
            ),
            **{mfa.HAS_DEVICE_AT_LOAD: mfa.has_device_annotation()},
        )
        .filter(pk=_PLACEHOLDER_ID)
        .query
    )
    return compile_once(*query.sql_with_params(), _PLACEHOLDER_ID, places=1)


def _signed_in(request: HttpRequest | None) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def save_rehashed_password(user: Any, password: str) -> bool:
    """Hash `password` (just proved by `user`) with the current hasher and key, and save it as
    the user themself; False when the database did not let this transaction change the row
    (it names someone else, or the user has no database role): the next sign-in tries again."""
    user.set_password(password)
    user._password = None  # saved below, not by save(): no "password changed" validators
    role = database_role_for(user)
    if role is None:
        return False
    with transaction.atomic(using=WEB_ALIAS), connections[WEB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting(%s, true), '') = ''", [SETTING])
        unnamed = cursor.fetchone()[0]
        if unnamed:
            cursor.execute("SELECT set_config('role', %s, true)", [role])
            set_token(WEB_ALIAS, user.pk, role)
        saved = (
            UserModel._default_manager.using(WEB_ALIAS)
            .filter(pk=user.pk)
            .update(password=user.password)
        )
        if unnamed:
            # Inside a caller's transaction, the rest of it runs as before: the bare web login.
            cursor.execute(
                "SELECT set_config('role', 'none', true), set_config(%s, '', true)", [SETTING]
            )
    return bool(saved == 1)
