from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        # Signal receivers: session bookkeeping, re-authentication at sign-in.
        from clinic import (  # noqa: F401
            access_log_signals,  # noqa: F401
            reauth,
            staff_sessions,
        )
