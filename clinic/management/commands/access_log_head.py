from django.core.management.base import BaseCommand

from clinic.access_log.chain import chain_head


class Command(BaseCommand):
    help = "Print the access log's newest id and hash, to anchor outside the database daily."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="owner", help="connection alias (owner)")

    def handle(self, *args, **options):
        head = chain_head(options["database"])
        if head is None:
            self.stdout.write("access log is empty")
            return
        head_id, head_hash, occurred_at = head
        self.stdout.write(f"{head_id}:{head_hash} {occurred_at.isoformat()}")
