"""A test-only Argon2 hasher for users whose password storage is not what the test is about.

Django's Argon2 parameters (time_cost 2, 100 MiB, 8 lanes) cost about half a second a hash on
the test machine, and every password sign-in, wrong password and unknown-username sign-in
(Django hashes once to equalise the time) pays it. This hasher is the same Argon2id, salted and
verified by the argon2 library, with the smallest parameters (1 pass, 1 MiB, 1 lane), under the
same name ("argon2"), so the clinic's encrypted hasher wraps it exactly as it wraps the real one.

tests/conftest.py puts it in place of Django's for the whole run; tests marked
`real_password_hasher` (the password-storage tests, the settings test, and the modules whose
servers run in another process with the real settings) get the configured list back.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
