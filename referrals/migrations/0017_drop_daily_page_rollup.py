"""Drop the daily page rollup: a push paid for it about as much as for its own rows.

Every row of a push is a new (page, day) of that rollup, so its trigger inserted as many
totals as the push wrote rows (160-540 ms of a 10,000-row push, measured with
EXPLAIN ANALYZE, against 55-150 ms for the monthly rollup, whose totals a push mostly
updates). The page rankings now read the days of a window's partial months from the rows
themselves (referrals/reporting/pages.py): at most half a month at either end.
"""

from django.db import migrations

from referrals.db.citus import distribute_new_tables
from referrals.db.rollup import (
    rollup_fill,
    rollup_lock,
    rollup_spec,
    rollup_triggers_drop,
    rollup_triggers_install,
)

TABLE = "referrals_dailypagetotal"


def triggers_drop(apps, schema_editor):
    rows = apps.get_model("referrals", "ReferralRow")
    rollup = rollup_spec(apps.get_model("referrals", "DailyPageTotal")).name
    rollup_triggers_drop(db=schema_editor.connection, rows=rows, rollup=rollup)


def rollup_restore(apps, schema_editor):
    """Back to 0016: the table recreated by the reversed DeleteModel, distributed, filled."""
    db = schema_editor.connection
    rows = apps.get_model("referrals", "ReferralRow")
    totals = apps.get_model("referrals", "DailyPageTotal")
    distribute_new_tables(db=db, distributed=[TABLE])
    if db.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 80)")
    rollup_lock(db=db, rows=rows, totals=totals)
    rollup_triggers_install(db=db, rows=rows, totals=totals)
    rollup_fill(db=db, rows=rows, totals=totals)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0016_page_rollups"),
    ]

    operations = [
        migrations.RunPython(triggers_drop, rollup_restore),
        migrations.DeleteModel(name="DailyPageTotal"),
    ]
