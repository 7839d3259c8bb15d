from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        # Signal receivers: session bookkeeping, and MFA counters cleared on an axes unlock.
        from clinic import mfa, reauth, staff_sessions  # noqa: F401
