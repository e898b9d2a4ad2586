"""renormalize_agents: re-apply the current AI-agent list to stored agent-traffic rows."""

from django.core.management.base import BaseCommand

from referrals.allow_list.renormalize import agents_renormalize


class Command(BaseCommand):
    help = "Re-apply the current AI-agent list to stored agent-traffic rows; print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show changes; write nothing.")

    def handle(self, *args, dry_run: bool, **options):
        changes = agents_renormalize(dry_run=dry_run)
        for change in changes:
            self.stdout.write(
                f"{change.rows:>10} rows  {change.raw_user_agent[:120]!r}: "
                f"{change.old_agent or '(none)'} -> {change.new_agent or '(none)'}"
            )
        total = sum(change.rows for change in changes)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{verb} {total} rows across {len(changes)} user agents")
