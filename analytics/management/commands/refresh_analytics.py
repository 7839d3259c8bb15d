"""Refresh the analytics rollups concurrently (readers are not blocked) and log the time."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics.refresh import refresh_all


class Command(BaseCommand):
    help = "Refresh the analytics materialized views (CONCURRENTLY) and record the refresh time."

    def handle(self, *args, **options):
        total = refresh_all(progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Analytics refreshed in {total:.2f} s"))
