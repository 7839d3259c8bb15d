from django.urls import path  # noqa: F401

app_name = "break_glass"
urlpatterns: list = []
