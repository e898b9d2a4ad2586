"""renormalize_referrers: re-apply the current AI-platform allow-list to stored rows."""

import sys

from django.core.management.base import BaseCommand, CommandError

from referrals.allow_list.renormalize import (
    DEFAULT_BATCH_SIZE,
    Position,
    referrers_renormalize,
    renormalize_plan,
)
from referrals.ops.progress import Progress
from referrals.ops.throttle import Throttle

MAX_BATCH_SIZE = 2**31 - 1
INTERRUPTED = "interrupted after {position}: run again with --resume {position} for the rest"


class Command(BaseCommand):
    help = (
        "Re-apply the current AI-platform allow-list to stored rows and print what changed; "
        "in short batches per brand, safe while pushes run, interruptible and resumable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show changes; write nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction."
        )
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds between batches.")
        parser.add_argument(
            "--pause-factor",
            type=float,
            default=0.0,
            metavar="F",
            help="Rest F times the time each batch took (1: work at most half of the time).",
        )
        parser.add_argument(
            "--max-wal-rate",
            type=float,
            default=0.0,
            metavar="MB",
            help="Rest after each batch until the WAL it wrote fits MB megabytes per second "
            "(PostgreSQL; on Citus the coordinator's WAL only).",
        )
        parser.add_argument(
            "--resume",
            type=Position.parse,
            default=None,
            metavar="BRAND:ID",
            help="Skip the ranges before this position (printed when interrupted).",
        )

    def handle(
        self, *args, dry_run, batch_size, pause, pause_factor, max_wal_rate, resume, **options
    ):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if batch_size > MAX_BATCH_SIZE:  # a LIMIT PostgreSQL would refuse (a traceback)
            raise CommandError(f"--batch-size must be at most {MAX_BATCH_SIZE}.")
        if min(pause, pause_factor, max_wal_rate) < 0:
            raise CommandError("--pause, --pause-factor and --max-wal-rate cannot be negative.")
        throttle = Throttle(
            pause=pause, pause_factor=pause_factor, max_wal_rate=max_wal_rate * 2**20
        )
        plan = renormalize_plan()
        progress = Progress(label="renormalize", total=plan.total_rows, stream=self.stderr._out)
        last: list[Position | None] = [resume]

        def on_batch(position: Position, rows: int) -> None:
            last[0] = position
            progress.advance(rows)

        try:
            changes = referrers_renormalize(
                dry_run=dry_run,
                batch_size=batch_size,
                resume=resume,
                throttle=throttle,
                on_batch=on_batch,
                plan=plan,
            )
        except KeyboardInterrupt:
            progress.finish()
            position = last[0] or "0:0"
            self.stderr.write(INTERRUPTED.format(position=position))
            sys.exit(130)
        if not dry_run and plan.targets:
            progress.finish()
        for change in changes:
            self.stdout.write(
                f"{change.rows:>10} rows  {change.raw_referrer_value!r}: "
                f"{change.old_platform or '(none)'} -> {change.new_platform or '(none)'}"
            )
        total = sum(change.rows for change in changes)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{verb} {total} rows across {len(changes)} referrer values")
