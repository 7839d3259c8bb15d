import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from clinic import bootstrap


class Command(BaseCommand):
    help = (
        "As the database's superuser (DATABASE_BOOTSTRAP_URL): create the roles and memberships "
        "and hand the access log to its NOLOGIN owner. Run after migrate, before provision_db."
    )

    def handle(self, *args, **options):
        dsn = bootstrap.bootstrap_dsn(connections["owner"].settings_dict["NAME"])
        if not dsn:
            raise CommandError(
                "Set DATABASE_BOOTSTRAP_URL to the superuser (or administrator) login "
                f"(set: {bool(os.environ.get('DATABASE_BOOTSTRAP_URL'))})."
            )
        statements = bootstrap.run(dsn)
        for statement in statements:
            self.stdout.write(f"  {statement}")
        self.stdout.write(f"bootstrap_db: {len(statements)} change(s) applied.")
