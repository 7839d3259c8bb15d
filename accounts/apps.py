from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Signal receivers: access-log events, session bookkeeping, re-authentication at sign-in;
        # the encrypted password column, declared for key rotation.
        from accounts import passwords, reauth, sessions, signals  # noqa: F401
