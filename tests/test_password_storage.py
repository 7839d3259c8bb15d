"""Password hashes the database cannot read (accounts/passwords.py): every stored password is
an Argon2 hash encrypted with the field keys, which the database never holds, so the web login
(which reads auth_user before sign-in, and after `RESET ROLE` in any request) and every backup
see only ciphertext. Outdated hashes are re-hashed at sign-in and saved under the user's own
verified identity (accounts/backends.py); the database refuses any other stored form
(accounts/db_checks.py), the owner's writes included.

Keys here are generated per test run; passwords and users are fake.
"""

from __future__ import annotations

import base64
import os
from io import StringIO

import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    check_password,
    get_hasher,
    identify_hasher,
    make_password,
)
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.test import Client, override_settings

from accounts import passwords
from accounts.backends import PasswordBackend
from clinic import roles
from clinic.encryption import DecryptionError, current_key_id
from tests.conftest import PASSWORD, make_staff
from tests.factories import StaffFactory
from tests.test_sign_in_tables import ATTACKERS, inject
from tests.test_signin import sign_in

# Django's own Argon2 parameters (tests/hashers.py): what these tests prove.
# cluster_wide: provision_db (the cluster's roles) (tests/cluster_share.py).
pytestmark = [
    pytest.mark.usefixtures("clinic_db"),
    pytest.mark.real_password_hasher,
    pytest.mark.cluster_wide,
]
READABLE = ("argon2$", "pbkdf2")


def new_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW = new_key("pwold"), new_key("pwnew")


def stored(user: User) -> str:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT password FROM auth_user WHERE id = %s", [user.pk])
        return str(cursor.fetchone()[0])


def set_stored(user: User, value: str) -> None:
    with connections["owner"].cursor() as cursor:
        cursor.execute("UPDATE auth_user SET password = %s WHERE id = %s", [value, user.pk])


def inner(value: str) -> str:
    return passwords.unwrap(value)


def is_current(value: str) -> bool:
    """Encrypted under the current key, holding Argon2 with today's parameters."""
    hash_inside = inner(value)
    return (
        passwords.key_id(value) == current_key_id()
        and identify_hasher(hash_inside).algorithm == "argon2"
        and not get_hasher("argon2").must_update(hash_inside)
    )


def weak_argon2(password: str) -> str:
    class Weaker(Argon2PasswordHasher):
        time_cost = 1
        memory_cost = 8 * 1024

    return Weaker().encode(password, Weaker().salt())


def plain_argon2(password: str) -> str:
    return make_password(password, hasher="argon2")


def pbkdf2(password: str) -> str:
    return make_password(password, hasher="pbkdf2_sha256")


def staff_with_inner_hash(username: str, inner_hash: str) -> User:
    """A user whose stored password is `inner_hash` sealed as the migration seals old hashes."""
    user = make_staff(username, roles.CLINICIAN)
    set_stored(user, passwords.wrap(inner_hash))
    return user


# --- what is stored, and what the web login reads ----------------------------------------------


def test_a_new_password_is_stored_as_ciphertext_only(staff):
    user = staff["frontdesk"]
    user.set_password("fake-new-password-8351")
    user.save(using="owner", update_fields=["password"])
    value = stored(user)
    assert value.startswith(f"argon2_enc$v1:{current_key_id()}:")
    assert not any(readable in value for readable in READABLE)
    assert inner(value).startswith("argon2$argon2id$")
    assert check_password("fake-new-password-8351", value)
    assert not check_password("fake-wrong-password-8351", value)


@pytest.mark.parametrize("who", ATTACKERS)
@pytest.mark.parametrize("reset_role", [False, True])
def test_sql_on_the_web_connection_reads_only_ciphertext(staff, who, reset_role):
    rows = inject(
        staff[who] if who else None,
        [("SELECT username, password FROM auth_user", [])],
        reset_role=reset_role,
    )
    if who is None:
        # Before sign-in the web login reads no account at all: only the one a sign-in attempt
        # names, under the application's signed look-up (tests/test_sign_in_tables.py).
        assert rows == []
        return
    # Signed in, colleagues' rows are readable (names on every page), never a hash in them.
    assert {username for username, _value in rows} >= {"t-clinician", "t-admin"}
    for _username, value in rows:
        assert value.startswith("argon2_enc$v1:")
        assert not any(readable in value for readable in READABLE)


def test_the_ciphertext_opens_only_with_the_applications_keys(staff):
    value = stored(staff["clinician"])
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key(current_key_id())]):
        with pytest.raises(DecryptionError) as error:
            check_password(PASSWORD, value)
    assert "argon2" not in str(error.value) and "v1:" not in str(error.value)


def test_a_hash_copied_from_another_column_does_not_verify():
    from clinic.encryption import encrypt_value

    elsewhere = "argon2_enc$" + encrypt_value(plain_argon2(PASSWORD), "x.y")
    with pytest.raises(DecryptionError):
        check_password(PASSWORD, elsewhere)


def test_the_summary_shows_no_hash(staff):
    summary = passwords.EncryptedArgon2PasswordHasher().safe_summary(stored(staff["clinician"]))
    assert summary["algorithm"] == "argon2_enc" and summary["hashed with"] == "argon2"
    assert not any("$" in str(value) for value in summary.values())


# --- sign-in: new, migrated and outdated hashes --------------------------------------------------


def test_a_user_signs_in_with_an_encrypted_hash_and_it_is_left_alone(staff):
    before = stored(staff["clinician"])
    assert sign_in(Client(), "t-clinician").status_code == 302
    assert stored(staff["clinician"]) == before


@pytest.mark.parametrize("old_hash", [pbkdf2, weak_argon2], ids=["pbkdf2", "weaker-argon2"])
def test_a_migrated_outdated_hash_is_rehashed_at_sign_in_and_saved(clinic_db, old_hash):
    user = staff_with_inner_hash("t-migrated", old_hash(PASSWORD))
    assert sign_in(Client(), "t-migrated").status_code == 302
    value = stored(user)
    assert is_current(value)
    assert sign_in(Client(), "t-migrated").status_code == 302
    assert stored(user) == value  # current now: not re-hashed again


def test_a_wrong_password_rehashes_nothing(clinic_db):
    user = staff_with_inner_hash("t-migrated", pbkdf2(PASSWORD))
    before = stored(user)
    assert sign_in(Client(), "t-migrated", "fake-wrong-password-1").status_code == 200
    assert stored(user) == before


@pytest.mark.parametrize("plain", [pbkdf2, weak_argon2, plain_argon2])
def test_a_plain_hash_verifies_and_asks_to_be_rehashed(plain):
    """Hashes from before the encrypted hasher verify through the hashers listed after it, and
    Django re-hashes them (the database no longer stores them: the migration sealed them)."""
    encoded = plain(PASSWORD)
    rehashed: list[str] = []
    assert check_password(PASSWORD, encoded, setter=rehashed.append)
    assert rehashed == [PASSWORD]


def test_a_password_under_an_old_key_is_rewrapped_at_sign_in(clinic_db):
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        user = make_staff("t-oldkey", roles.FRONT_DESK)
    assert passwords.key_id(stored(user)) == "pwold"
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert passwords.EncryptedArgon2PasswordHasher().must_update(stored(user))
        assert sign_in(Client(), "t-oldkey").status_code == 302
        assert is_current(stored(user))
    assert passwords.key_id(stored(user)) == "pwnew"


def test_a_user_without_a_clinic_group_is_rehashed_as_themself(clinic_db):
    user = make_staff("t-nogroup", None)
    set_stored(user, passwords.wrap(pbkdf2(PASSWORD)))
    assert sign_in(Client(), "t-nogroup").status_code == 302
    assert is_current(stored(user))


def test_the_rehash_is_saved_as_the_user_not_as_the_bare_web_login(clinic_db):
    """The database refuses the bare web login's UPDATE of the column (so Django's ModelBackend
    could not save it before sign-in), and a request of another user changes no row of it."""
    user = staff_with_inner_hash("t-migrated", pbkdf2(PASSWORD))
    other = make_staff("t-other", roles.CLINICIAN)
    new_value = passwords.wrap(plain_argon2(PASSWORD))
    statement = ("UPDATE auth_user SET password = %s WHERE id = %s", [new_value, user.pk])
    with pytest.raises(DatabaseError, match="permission denied"):
        inject(None, [statement])
    assert inject(other, [statement]) == 0
    assert inject(user, [statement]) == 1


def test_reauthentication_inside_a_signed_in_request_leaves_the_hash_to_the_next_sign_in(
    clinic_db,
):
    user = staff_with_inner_hash("t-migrated", pbkdf2(PASSWORD))
    before = stored(user)

    class SignedIn:
        pass

    request = SignedIn()
    request.user = user  # type: ignore[attr-defined]
    assert PasswordBackend().authenticate(request, username="t-migrated", password=PASSWORD)
    assert stored(user) == before


# --- the migration that sealed the existing hashes -----------------------------------------------


def test_the_migration_seals_existing_hashes_and_nobody_is_signed_out(clinic_db):
    """Back to before the migration (the check dropped, hashes open), old hashes of every kind
    written as they were, then forward again: every user still signs in with their password."""
    plain_argon2 = make_staff("t-plain-argon2", roles.CLINICIAN)
    plain_pbkdf2 = make_staff("t-plain-pbkdf2", roles.FRONT_DESK)
    unusable = make_staff("t-unusable", roles.ANALYST)
    try:
        call_command("migrate", "accounts", "0003", database="owner", verbosity=0)
        assert stored(plain_argon2).startswith("argon2$argon2id$")
        set_stored(plain_pbkdf2, pbkdf2(PASSWORD))
        set_stored(unusable, "!fake-unusable-marker")
    finally:
        call_command("migrate", "accounts", database="owner", verbosity=0)
        call_command("provision_db", stdout=StringIO())
    assert stored(unusable) == "!fake-unusable-marker"
    for user, algorithm in ((plain_argon2, "argon2"), (plain_pbkdf2, "pbkdf2_sha256")):
        value = stored(user)
        assert value.startswith("argon2_enc$v1:")
        assert identify_hasher(inner(value)).algorithm == algorithm
        assert sign_in(Client(), user.username).status_code == 302
        assert is_current(stored(user))


# --- the database's check on the column ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(lambda: plain_argon2(PASSWORD), id="plain-argon2"),
        pytest.param(lambda: pbkdf2(PASSWORD), id="plain-pbkdf2"),
        pytest.param(lambda: "", id="empty"),
        pytest.param(lambda: "argon2_enc$" + plain_argon2(PASSWORD), id="fake"),
        pytest.param(lambda: passwords.wrap(pbkdf2(PASSWORD))[len("argon2_enc$") :], id="bare"),
    ],
)
def test_the_database_refuses_any_other_stored_form_even_from_the_owner(staff, value):
    with pytest.raises(IntegrityError, match="auth_user_password_form"):
        with transaction.atomic(using="owner"):
            set_stored(staff["clinician"], value())


def test_the_database_takes_ciphertext_and_unusable_passwords(staff):
    set_stored(staff["clinician"], make_password(None))
    set_stored(staff["clinician"], passwords.wrap(pbkdf2(PASSWORD)))


# --- the admin's user forms --------------------------------------------------------------------


def test_an_administrator_creates_a_user_and_sets_a_password_through_the_admin(client_for, staff):
    client = client_for(staff["admin"])
    group = Group.objects.using("owner").get(name=roles.FRONT_DESK)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "t-created",
            "password1": "fake-created-password-5512",
            "password2": "fake-created-password-5512",
            "usable_password": "true",
            "groups": [group.pk],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    created = User.objects.using("owner").get(username="t-created")
    assert is_current(stored(created))
    page = client.get(f"/admin/auth/user/{created.pk}/change/").content.decode()
    assert "argon2_enc" in page and passwords.current_key_id() in page
    assert inner(stored(created)) not in page and "argon2$" not in page
    response = client.post(
        f"/admin/auth/user/{created.pk}/password/",
        {
            "password1": "fake-reset-password-7734",
            "password2": "fake-reset-password-7734",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert is_current(stored(created))
    assert sign_in(Client(), "t-created", "fake-reset-password-7734").status_code == 302


def test_the_factories_store_the_encrypted_form(clinic_db):
    user = StaffFactory()
    assert is_current(stored(user))
