"""The clinic's settings with a counting Argon2 hasher (benchmarks.brute_force only): the
encrypted hasher stays first and makes and checks its inner hash with the "argon2" hasher
configured, this one."""

from clinic.settings import *  # noqa: F403
from clinic.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = [
    PASSWORD_HASHERS[0],
    "benchmarks.counting_hasher.CountingArgon2PasswordHasher",
    *PASSWORD_HASHERS[2:],
]
