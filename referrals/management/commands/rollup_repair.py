"""rollup_repair: reinstall the rollups' triggers and recompute them from the rows."""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from referrals.db.rollup import rollup_models, rollup_repair, rollup_spec
from referrals.models import ReferralRow

REPAIRED = "rollup repaired: triggers reinstalled, {totals} {name} totals"


class Command(BaseCommand):
    help = (
        "Reinstall the rollups' triggers and recompute each rollup from the rows, with "
        "writes held off meanwhile (pushes wait; reads go on)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database: str, **options):
        for totals in rollup_models():
            written = rollup_repair(db=connections[database], rows=ReferralRow, totals=totals)
            name = rollup_spec(totals).name.replace("_", " ")
            self.stdout.write(REPAIRED.format(totals=written, name=name))
