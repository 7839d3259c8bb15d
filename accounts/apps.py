from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Signal receivers: access-log events (security administration included), session
        # bookkeeping, re-authentication at sign-in,
        # the signed reset of failed attempts after a correct password; the encrypted password
        # column, declared for key rotation.
        from accounts import (  # noqa: F401
            lockout_guard,
            otp_secrets,
            passwords,
            reauth,
            security_events,
            sessions,
            signals,
            user_lookup,
        )

        # django-otp's TOTP keys encrypted, its recovery codes hashed, before any query.
        otp_secrets.install()
        # The last sign-in time stamped as the user themself (accounts/user_lookup.py).
        user_lookup.install()
