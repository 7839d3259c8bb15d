"""BENCHMARK-ONLY URLconf of the bare anchor (benchmarks/bare_settings.py)."""

from django.urls import path

from benchmarks import bare_views

urlpatterns = [path("bare/visits/", bare_views.visits)]
