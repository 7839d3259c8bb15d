from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Signal receivers: access-log events, session bookkeeping, re-authentication at sign-in.
        from accounts import reauth, sessions, signals  # noqa: F401
