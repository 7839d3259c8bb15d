"""The clinic's settings with a counting Argon2 hasher (benchmarks.brute_force only)."""

from clinic.settings import *  # noqa: F403
from clinic.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = [
    "benchmarks.counting_hasher.CountingArgon2PasswordHasher",
    *PASSWORD_HASHERS[1:],
]
