"""What a sign-in costs (accounts/hashers.py, issue #20): Argon2id at OWASP's minimum
parameters, hashes made with Django's heavier defaults upgraded at the next sign-in, and at
most PASSWORD_HASH_CONCURRENCY hashes at a time per process, so a burst of sign-ins queues
instead of taking every core from page requests. Passwords and users are fake."""

from __future__ import annotations

import threading
import time
import types

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, make_password
from django.db import connections
from django.test import Client, override_settings

from accounts import hashers, passwords
from clinic import roles
from tests.conftest import PASSWORD, make_staff
from tests.test_signin import sign_in

# The configured hashers, not the suite's quick one (tests/hashers.py): their cost is the subject.
pytestmark = pytest.mark.real_password_hasher

OWASP = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


def stored(user) -> str:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT password FROM auth_user WHERE id = %s", [user.pk])
        return str(cursor.fetchone()[0])


def set_stored(user, value: str) -> None:
    with connections["owner"].cursor() as cursor:
        cursor.execute("UPDATE auth_user SET password = %s WHERE id = %s", [value, user.pk])


def parameters(inner_hash: str) -> dict:
    params = argon2.extract_parameters("$" + inner_hash.split("$", 1)[1])
    return {
        "type": params.type,
        "memory_cost": params.memory_cost,
        "time_cost": params.time_cost,
        "parallelism": params.parallelism,
    }


# --- parameters -------------------------------------------------------------------------------


def test_new_hashes_are_argon2id_at_the_owasp_minimum():
    inner = make_password("fake-password-for-cost", hasher="argon2")
    assert parameters(inner) == {"type": argon2.Type.ID, **OWASP}
    assert get_hasher("argon2").verify("fake-password-for-cost", inner)
    assert not get_hasher("argon2").verify("fake-password-for-cosT", inner)


def test_the_stored_form_holds_the_owasp_hash_sealed(clinic_db):
    user = make_staff("t-costly", roles.FRONT_DESK)
    user.set_password("fake-new-password-2026")
    inner = passwords.unwrap(user.password)
    assert parameters(inner) == {"type": argon2.Type.ID, **OWASP}


def test_djangos_default_parameters_verify_but_ask_to_be_rehashed():
    old = Argon2PasswordHasher().encode("fake-password-for-cost", Argon2PasswordHasher().salt())
    assert parameters(old)["memory_cost"] == 100 * 1024 and parameters(old)["parallelism"] == 8
    hasher = get_hasher("argon2")
    assert hasher.verify("fake-password-for-cost", old)
    assert hasher.must_update(old)
    assert not hasher.must_update(hasher.encode("fake-password-for-cost", hasher.salt()))


# --- upgrade at sign-in -------------------------------------------------------------------------


def test_a_hash_with_djangos_defaults_is_upgraded_at_the_next_sign_in(clinic_db):
    user = make_staff("t-heavyhash", roles.CLINICIAN)
    heavy = Argon2PasswordHasher()
    set_stored(user, passwords.wrap(heavy.encode(PASSWORD, heavy.salt())))
    assert sign_in(Client(), "t-heavyhash").status_code == 302
    upgraded = stored(user)
    assert parameters(passwords.unwrap(upgraded)) == {"type": argon2.Type.ID, **OWASP}
    assert not passwords.EncryptedArgon2PasswordHasher().must_update(upgraded)
    assert sign_in(Client(), "t-heavyhash").status_code == 302
    assert stored(user) == upgraded  # current now: left alone


def test_a_wrong_password_leaves_the_heavy_hash_in_place(clinic_db):
    user = make_staff("t-heavyhash", roles.CLINICIAN)
    heavy = Argon2PasswordHasher()
    before = passwords.wrap(heavy.encode(PASSWORD, heavy.salt()))
    set_stored(user, before)
    assert sign_in(Client(), "t-heavyhash", "fake-wrong-password-1").status_code == 200
    assert stored(user) == before


# --- the bound on concurrent hashes ---------------------------------------------------------------


class Overlap:
    """Counts Argon2 computations running at once, around the real library's calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def around(self, work):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.02)  # widen the window, so overlap is seen whenever it is allowed
            return work()
        finally:
            with self.lock:
                self.running -= 1


def watched_hasher(overlap: Overlap) -> hashers.ClinicArgon2PasswordHasher:
    """The clinic's hasher whose argon2 library reports every computation to `overlap`."""

    class Watched(argon2.PasswordHasher):  # Django verifies with it
        def verify(self, hash, password):  # noqa: A002 (argon2's own argument name)
            return overlap.around(lambda: super(Watched, self).verify(hash, password))

    def hash_secret(*args, **kwargs):  # Django hashes with it
        return overlap.around(lambda: argon2.low_level.hash_secret(*args, **kwargs))

    library = types.SimpleNamespace(**vars(argon2))
    library.PasswordHasher = Watched
    library.low_level = types.SimpleNamespace(**vars(argon2.low_level))
    library.low_level.hash_secret = hash_secret

    class Hasher(hashers.ClinicArgon2PasswordHasher):
        def _load_library(self):
            return library

    return Hasher()


def hash_from_threads(hasher, threads: int, rounds: int) -> list[bool]:
    encoded = get_hasher("argon2").encode("fake-password-for-cost", get_hasher("argon2").salt())
    results: list[bool] = []
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for number in range(rounds):
            if number % 2:
                results.append(hasher.verify("fake-password-for-cost", encoded))
            else:
                results.append(bool(hasher.encode("fake-password-for-cost", hasher.salt())))

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("bound", [1, 2])
def test_at_most_the_configured_number_of_hashes_run_at_once(bound):
    overlap = Overlap()
    with override_settings(PASSWORD_HASH_CONCURRENCY=bound):
        results = hash_from_threads(watched_hasher(overlap), threads=6, rounds=4)
    assert results == [True] * 24
    assert overlap.calls == 24
    assert overlap.most == bound


def test_without_the_bound_the_threads_do_overlap():
    """The counter sees overlap when nothing bounds it (the test above can fail)."""
    overlap = Overlap()
    with override_settings(PASSWORD_HASH_CONCURRENCY=64):
        hash_from_threads(watched_hasher(overlap), threads=6, rounds=2)
    assert overlap.most > 2


def test_a_sign_in_waits_for_a_slot_and_then_completes(clinic_db):
    """A sign-in behind a busy slot is queued, not refused."""
    make_staff("t-queued", roles.FRONT_DESK)
    answer: list[int] = []

    def sign_in_in_a_thread() -> None:
        try:
            answer.append(sign_in(Client(), "t-queued").status_code)
        finally:
            connections.close_all()

    with override_settings(PASSWORD_HASH_CONCURRENCY=1):
        thread = threading.Thread(target=sign_in_in_a_thread)
        with hashers.hash_slot():
            thread.start()
            # A sleep, not join(timeout=1.0): under libfaketime (`make test-clock`) a timed
            # wait returns only when the thread ends, and this one waits for the slot we hold.
            time.sleep(1.0)
            assert thread.is_alive() and answer == []  # waiting for the slot
        thread.join(timeout=30)
    assert answer == [302]
