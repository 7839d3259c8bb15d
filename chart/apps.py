from django.apps import AppConfig


class ChartConfig(AppConfig):
    name = "chart"
