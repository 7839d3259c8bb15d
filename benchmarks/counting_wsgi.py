"""The clinic's WSGI application with second-factor checks counted (benchmarks.brute_force).

Every call of accounts.mfa.verify_code (one evaluated code) appends "m" to CLINIC_HASH_COUNT_FILE.
"""

from __future__ import annotations

from benchmarks.counting_hasher import _count
from clinic.wsgi import application


def _count_code_checks() -> None:
    from accounts import mfa  # after Django is set up (clinic.wsgi)

    verify_code = mfa.verify_code

    def counted_verify_code(user, code):
        _count(b"m")
        return verify_code(user, code)

    mfa.verify_code = counted_verify_code


_count_code_checks()
__all__ = ["application"]
