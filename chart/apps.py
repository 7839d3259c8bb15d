from django.apps import AppConfig


class ChartConfig(AppConfig):
    name = "chart"

    def ready(self) -> None:
        # chart_history.row holds each item's row as stored, free text still ciphertext under
        # the item column's own binding: key rotation re-encrypts it there too.
        from chart.db_checks import PRIMARY_KEYS
        from clinic.encryption import EncryptedFieldMixin, register_json_column

        keys = {
            model._meta.db_table: tuple(
                str(f.column)
                for f in model._meta.local_concrete_fields
                if isinstance(f, EncryptedFieldMixin)
            )
            for model in self.get_models()
            if model._meta.db_table in PRIMARY_KEYS
        }
        register_json_column(
            "chart_history", "history_id", "row", "item_table", {t: k for t, k in keys.items() if k}
        )
