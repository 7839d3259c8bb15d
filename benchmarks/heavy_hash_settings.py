"""BENCHMARK-ONLY settings: the clinic's settings with Django's default Argon2 parameters
(m = 100 MiB, t = 2, p = 8) and no bound on concurrent hashes, as before issue #20, for the
sign-in storm's before/after comparison (benchmarks/sign_in_storm.py)."""

from clinic.settings import *  # noqa: F403
from clinic.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = [
    PASSWORD_HASHERS[0],
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    *PASSWORD_HASHERS[2:],
]
