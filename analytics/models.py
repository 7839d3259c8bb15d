"""Plain tables of the analytics app: the ICD-10-CM chapter of every code, and refresh times.

The dashboards themselves read materialized views (analytics/db_grants.py), not models.
"""

from __future__ import annotations

from django.db import models


class Icd10Chapter(models.Model):
    """Code (no dot, upper case) -> chapter number, so SQL can group visits by chapter."""

    code = models.CharField(max_length=8, primary_key=True)
    chapter = models.CharField(max_length=2)

    class Meta:
        db_table = "analytics_icd10_chapters"

    def __str__(self) -> str:
        return f"{self.code} -> chapter {self.chapter}"


class RefreshLog(models.Model):
    """One row per `refresh_analytics` run; the newest is the dashboards' "data as of"."""

    refreshed_at = models.DateTimeField()
    duration_seconds = models.FloatField()

    class Meta:
        db_table = "analytics_refresh_log"
        ordering = ["-refreshed_at"]

    def __str__(self) -> str:
        return f"refresh at {self.refreshed_at:%Y-%m-%d %H:%M}"
