from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.access_log.chain import verify_chain
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
        seconds = backup.restore(options["file"], options["database"])
        self.stdout.write(f"restore_db: restored {options['database']} in {seconds:.1f} s")
        report = backup.check_encrypted_columns()
        self.stdout.write(
            f"restore_db: {report.values} encrypted values in {report.columns} "
            "columns decrypt with the configured keys"
        )
        chain = verify_chain()
        if chain.broken_id is not None:
            raise CommandError(f"access log chain broken at id {chain.broken_id}")
        self.stdout.write(f"restore_db: access log chain verifies ({chain.rows_checked} rows)")
