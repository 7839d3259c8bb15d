from django.core.management.base import BaseCommand, CommandError

from clinic.access_log.chain import anchor_holds, verify_and_checkpoint


class Command(BaseCommand):
    help = (
        "Verify the access log's hash chain from the last verified checkpoint (--full: from the "
        "first row), record the new checkpoint, and exit non-zero at the first broken link."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="owner", help="connection alias (owner)")
        parser.add_argument(
            "--full",
            action="store_true",
            help="walk the whole chain, not only what follows the last checkpoint",
        )
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="ID:HASH",
            help="a head printed earlier by access_log_head; it must still be in the chain",
        )

    def handle(self, *args, **options):
        anchors = []
        for anchor in options["anchor"]:
            anchor_id, _, anchor_hash = anchor.partition(":")
            if not anchor_id.isdigit() or len(anchor_hash) != 64:
                raise CommandError(f"--anchor must be ID:HASH (64 hex digits), got {anchor!r}")
            anchors.append((int(anchor_id), anchor_hash))
        report = verify_and_checkpoint(options["database"], full=options["full"])
        walk = f"from checkpoint id {report.start_id}" if report.start_id else "from the first row"
        summary = f"{report.rows_checked} row(s) checked in {report.seconds:.2f}s; {walk}"
        if not report.ok:
            raise CommandError(
                f"access log chain BROKEN at id {report.broken_id}: {report.problem}; "
                f"last intact id {report.head_id or 'none'}; {summary}"
            )
        for anchor_id, anchor_hash in anchors:
            if not anchor_holds(anchor_id, anchor_hash, options["database"]):
                raise CommandError(
                    f"access log anchor {anchor_id} is missing or changed "
                    f"(rows cut off or rewritten after it was anchored); {summary}"
                )
        recorded = "new checkpoint recorded" if report.checkpointed else "no new rows"
        self.stdout.write(
            self.style.SUCCESS(
                f"access log chain intact: {summary}; head id {report.head_id or 'none'} "
                f"hash {report.head_hash}; {recorded}"
            )
        )
