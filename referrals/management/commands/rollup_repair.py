"""rollup_repair: reinstall the daily rollup's triggers and recompute it from the rows."""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from referrals.db.rollup import rollup_repair
from referrals.models import DailyPlatformTotal, ReferralRow

REPAIRED = "rollup repaired: triggers reinstalled, {totals} daily totals"


class Command(BaseCommand):
    help = (
        "Reinstall the daily rollup's triggers and recompute the rollup from the rows, with "
        "writes held off meanwhile (pushes wait; reads go on)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database: str, **options):
        written = rollup_repair(
            db=connections[database], rows=ReferralRow, totals=DailyPlatformTotal
        )
        self.stdout.write(REPAIRED.format(totals=written))
