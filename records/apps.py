from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"

    def ready(self) -> None:
        # Visit note drafts declare their grants and policies beside them (records/drafts.py).
        from records import draft_grants  # noqa: F401
