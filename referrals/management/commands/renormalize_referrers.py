"""renormalize_referrers: re-apply the current AI-platform allow-list to stored rows."""

from django.core.management.base import BaseCommand

from referrals.allow_list.renormalize import referrers_renormalize


class Command(BaseCommand):
    help = "Re-apply the current AI-platform allow-list to stored rows and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show changes; write nothing.")

    def handle(self, *args, dry_run: bool, **options):
        changes = referrers_renormalize(dry_run=dry_run)
        for change in changes:
            self.stdout.write(
                f"{change.rows:>10} rows  {change.raw_referrer_value!r}: "
                f"{change.old_platform or '(none)'} -> {change.new_platform or '(none)'}"
            )
        total = sum(change.rows for change in changes)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{verb} {total} rows across {len(changes)} referrer values")
