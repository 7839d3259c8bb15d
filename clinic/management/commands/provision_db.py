from django.core.management.base import BaseCommand

from clinic.provisioning import provision


class Command(BaseCommand):
    help = "Create/update the clinic's PostgreSQL roles, grants, views and row-level security."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="owner", help="connection alias (owner)")

    def handle(self, *args, **options):
        statements = provision(options["database"])
        if not statements:
            self.stdout.write("provision_db: already up to date; nothing changed.")
            return
        for statement in statements:
            self.stdout.write(f"  {statement}")
        self.stdout.write(self.style.SUCCESS(f"provision_db: {len(statements)} change(s) applied."))
