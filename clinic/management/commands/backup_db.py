from pathlib import Path

from django.core.management.base import BaseCommand

from localdb import backup, cluster


class Command(BaseCommand):
    help = "Dump the clinic database (pg_dump custom format) to FILE. Keys are not in the dump."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--database", default=cluster.DATABASE_NAME)

    def handle(self, *args, **options):
        seconds = backup.dump(options["file"], options["database"])
        size = options["file"].stat().st_size
        self.stdout.write(
            f"backup_db: {options['database']} -> {options['file']} "
            f"({size} bytes) in {seconds:.1f} s"
        )
