"""The clinic's Argon2: OWASP's minimum cost, and a bounded number of hashes at a time per process.

Parameters (Argon2id, as Django's Argon2PasswordHasher; docs/deployment.md, "Sign-in bursts"):
m = 19 MiB, t = 2, p = 1, the first of the OWASP Password Storage Cheat Sheet's equivalent
minimum configurations. That meets OWASP ASVS 4.0.3 V2.4.1 (an approved password hashing
function with a cost factor) and V2.4.2 (a unique random salt of at least 32 bits: Django's is
128). Django's own defaults (m = 100 MiB,
t = 2, p = 8) cost about nine times the CPU per sign-in (220 ms against 24 ms on the benchmark
machine, docs/benchmarks.md), which on a small server took page p95 up 3-4x at 5 sign-ins/s.
What keeps the hashes out of reach offline is also the field key they are encrypted with
(accounts/passwords.py), which the database and its backups never hold.

Stored hashes with other parameters (Django's defaults, or weaker ones) still verify: Django
reads the parameters from the hash, and `must_update` (parameters differ) makes the next
sign-in re-hash and save them with these (accounts/backends.py).

Concurrency: every Argon2 computation in a process (a verification, a new hash, the dummy hash
for an unknown username) takes one of `PASSWORD_HASH_CONCURRENCY` slots (default 1) and waits
for one when all are taken. Under gunicorn's threaded workers a burst of sign-ins then queues
inside each worker instead of taking every core from page requests; sign-ins are delayed, never
refused. The semaphore is per process (made on first use, so each forked worker has its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

# OWASP Password Storage Cheat Sheet: "Argon2id with a minimum configuration of 19 MiB of
# memory, an iteration count of 2, and 1 degree of parallelism".
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1

_made = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slot_count = 0


def concurrency() -> int:
    return max(1, int(getattr(settings, "PASSWORD_HASH_CONCURRENCY", 1)))


def _semaphore() -> threading.BoundedSemaphore:
    global _slots, _slot_count
    wanted = concurrency()
    with _made:
        # Re-made when the setting changes (tests override it); a hash in flight keeps and
        # releases the semaphore it took.
        if _slots is None or _slot_count != wanted:
            _slots, _slot_count = threading.BoundedSemaphore(wanted), wanted
        return _slots


@contextmanager
def hash_slot() -> Iterator[None]:
    """Hold one of the process's hashing slots (waits while all are taken)."""
    slots = _semaphore()
    slots.acquire()
    try:
        yield
    finally:
        slots.release()


class ClinicArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2id at OWASP's minimum parameters, one hash at a time per slot."""

    time_cost = OWASP_TIME_COST
    memory_cost = OWASP_MEMORY_KIB
    parallelism = OWASP_PARALLELISM

    def encode(self, password: str, salt: str) -> str:
        with hash_slot():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with hash_slot():
            return bool(super().verify(password, encoded))
