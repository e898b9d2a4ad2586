"""prune: delete old push logs and the rarest dropped referrers (cron-safe; docs/operations.md)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from referrals.ops.retention import DEFAULT_BATCH_SIZE, retention_prune

MAX_DAYS = 36_500  # a century of push logs
MAX_COUNT = 2**31 - 1
MAX_PAUSE = 3600.0


class Command(BaseCommand):
    help = (
        "Delete push logs older than PUSH_LOG_RETENTION_DAYS and keep the "
        "DROPPED_REFERRERS_PER_CONNECTION most frequent dropped referrers (and dropped user "
        "agents) per connection, in "
        "small batches that never stall a push. Safe to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Push-log retention (days).")
        parser.add_argument("--keep-dropped", type=int, default=None, help="Tallies kept.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds between batches.")
        parser.add_argument("--dry-run", action="store_true", help="Count only; delete nothing.")

    def handle(self, *args, days, keep_dropped, batch_size, pause, dry_run, **options):
        days = settings.PUSH_LOG_RETENTION_DAYS if days is None else days
        keep = settings.DROPPED_REFERRERS_PER_CONNECTION if keep_dropped is None else keep_dropped
        if days < 1 or keep < 1 or batch_size < 1:
            raise CommandError("--days, --keep-dropped and --batch-size must be at least 1.")
        # Beyond these, timedelta overflows and PostgreSQL refuses the numbers: a traceback.
        if days > MAX_DAYS:
            raise CommandError(f"--days must be at most {MAX_DAYS}.")
        if keep > MAX_COUNT or batch_size > MAX_COUNT:
            raise CommandError(f"--keep-dropped and --batch-size must be at most {MAX_COUNT}.")
        if not 0 <= pause <= MAX_PAUSE:  # NaN fails too
            raise CommandError(f"--pause must be between 0 and {MAX_PAUSE} seconds.")
        result = retention_prune(
            older_than=timezone.now() - timedelta(days=days),
            keep_dropped=keep,
            batch_size=batch_size,
            dry_run=dry_run,
            pause=pause,
        )
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {result.push_logs} push logs older than {days} days and "
            f"{result.dropped_referrers} dropped referrers beyond the top {keep} per connection"
        )
        self.stdout.write(
            f"{verb} {result.dropped_user_agents} dropped user agents beyond the top {keep} "
            "per connection"
        )
