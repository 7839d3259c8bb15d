import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from clinic import bootstrap
from clinic.access_log.chain import verify_chain
from clinic.encryption import check_encrypted_columns
from clinic.provisioning import provision
from localdb import backup, cluster


class Command(BaseCommand):
    help = (
        "Recreate the clinic database from a backup_db FILE, then check that every encrypted "
        "value decrypts with the configured keys and that the access-log chain verifies."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--database", default=cluster.DATABASE_NAME)

    def handle(self, *args, **options):
        started = time.monotonic()
        backup.recreate_database(options["database"])
        # Roles first: they are cluster-wide, and the dump grants to them (the superuser's
        # bootstrap; it seals the access log again once the dump is loaded, in provision()).
        bootstrap.run(cluster.superuser_dsn(options["database"]), roles_only=True)
        backup.load(options["file"], options["database"])
        # Then the rest of the bootstrap on the loaded database: the database-level rights (a
        # dump carries none; the owner login may not grant them) and the access log's seal.
        bootstrap.run(cluster.superuser_dsn(options["database"]))
        connections["owner"].close()
        provision()
        call_command("refresh_analytics", stdout=self.stdout)
        seconds = time.monotonic() - started
        self.stdout.write(f"restore_db: restored {options['database']} in {seconds:.1f} s")
        report = check_encrypted_columns()
        self.stdout.write(
            f"restore_db: {report.values} encrypted values in {report.columns} "
            "columns decrypt with the configured keys"
        )
        chain = verify_chain()
        if chain.broken_id is not None:
            raise CommandError(f"access log chain broken at id {chain.broken_id}")
        self.stdout.write(f"restore_db: access log chain verifies ({chain.rows_checked} rows)")
