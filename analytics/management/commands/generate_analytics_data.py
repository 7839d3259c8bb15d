"""Bulk synthetic patients and visits for the analytics benchmark (never in production)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.generate import generate


class Command(BaseCommand):
    help = "Generate synthetic patients and visits (see analytics/generate.py for how)."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, required=True)
        parser.add_argument("--patients", type=int, default=None)
        parser.add_argument("--providers", type=int, default=25)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        from django.conf import settings

        if getattr(settings, "PRODUCTION", False):
            raise CommandError("Synthetic data is for development and benchmarks only.")
        seconds = generate(
            options["records"],
            patients=options["patients"],
            providers=options["providers"],
            seed=options["seed"],
            progress=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS(f"Generated in {seconds:.1f} s"))
