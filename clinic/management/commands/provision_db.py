from django.core.management.base import BaseCommand

from clinic import bootstrap
from clinic.provisioning import provision


class Command(BaseCommand):
    help = "Create/update the clinic's PostgreSQL roles, grants, views and row-level security."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="owner", help="connection alias (owner)")

    def handle(self, *args, **options):
        # The superuser's part first, committed on its own connection (development: the embedded
        # cluster's superuser; elsewhere only with DATABASE_BOOTSTRAP_URL, else provision checks).
        statements = bootstrap.run_if_available(options["database"])
        statements += provision(options["database"])
        if not statements:
            self.stdout.write("provision_db: already up to date; nothing changed.")
            return
        for statement in statements:
            self.stdout.write(f"  {statement}")
        self.stdout.write(self.style.SUCCESS(f"provision_db: {len(statements)} change(s) applied."))
