"""Argon2 that counts: every hash computed (a verification, or the dummy hash Django computes for
an unknown username) appends one byte to the file named by CLINIC_HASH_COUNT_FILE.

Used only by benchmarks.brute_force_settings, so the brute-force harness can count the password
guesses the server actually evaluated, across gunicorn's worker processes (O_APPEND writes of
one byte do not interleave).
"""

from __future__ import annotations

import os

from accounts.hashers import ClinicArgon2PasswordHasher


def _count(kind: bytes) -> None:
    path = os.environ.get("CLINIC_HASH_COUNT_FILE")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, kind)
        finally:
            os.close(fd)


class CountingArgon2PasswordHasher(ClinicArgon2PasswordHasher):
    # Same algorithm name: it verifies the hashes already stored, and stores ones Django reads.
    def verify(self, password, encoded):
        _count(b"v")
        return super().verify(password, encoded)

    def encode(self, password, salt):
        _count(b"e")
        return super().encode(password, salt)


def read_counts(path: str) -> dict[str, int]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        data = b""
    return {"verify": data.count(b"v"), "encode": data.count(b"e"), "mfa": data.count(b"m")}
