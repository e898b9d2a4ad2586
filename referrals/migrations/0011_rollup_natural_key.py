"""The daily rollup keyed by its natural key, (brand, connection, date, platform), instead of a
generated id beside it: what the triggers upsert on is the primary key, brand first (the
distribution column on Citus), and the triggers no longer draw ids from a sequence on the
shards.

Django does not migrate a table to a composite primary key, so the table is made anew: the
triggers are dropped, the old table deleted, the new one created (distributed on Citus before
its foreign keys exist, see referrals/db/citus.py), then the triggers are installed and the
rollup refilled from the rows with writes held off, as migration 0005 first filled it. The
rollup is derived data: nothing is lost.
"""

import django.db.models.deletion
from django.db import migrations, models

from referrals.db.citus import distribute_new_tables
from referrals.db.rollup import (
    rollup_fill,
    rollup_lock,
    rollup_triggers_drop,
    rollup_triggers_install,
)

TOTALS = "referrals_dailyplatformtotal"


def _models(apps):
    return apps.get_model("referrals", "ReferralRow"), apps.get_model(
        "referrals", "DailyPlatformTotal"
    )


def triggers_drop(apps, schema_editor):
    rows, _ = _models(apps)
    rollup_triggers_drop(db=schema_editor.connection, rows=rows)


def rollup_start(apps, schema_editor):
    """Triggers, then the fill, with writes held off: no push can land between the two."""
    rows, totals = _models(apps)
    db = schema_editor.connection
    rollup_lock(db=db, rows=rows, totals=totals)
    rollup_triggers_install(db=db, rows=rows, totals=totals)
    rollup_fill(db=db, rows=rows, totals=totals)


def distribute(apps, schema_editor):
    distribute_new_tables(db=schema_editor.connection, distributed=[TOTALS])


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0010_citus_distribution"),
    ]

    operations = [
        migrations.RunPython(triggers_drop, rollup_start),
        migrations.DeleteModel(name="DailyPlatformTotal"),
        migrations.CreateModel(
            name="DailyPlatformTotal",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "brand",
                        "connection",
                        "date",
                        "platform",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "brand",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="referrals.brand",
                    ),
                ),
                (
                    "connection",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_totals",
                        to="referrals.connection",
                    ),
                ),
                ("date", models.DateField()),
                (
                    "platform",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="referrals.aiplatform",
                    ),
                ),
                ("row_count", models.IntegerField()),
                ("pageviews", models.BigIntegerField()),
                ("sessions", models.BigIntegerField()),
                ("transactions", models.BigIntegerField()),
                ("purchase_revenue", models.DecimalField(decimal_places=4, max_digits=24)),
            ],
        ),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        migrations.RunPython(rollup_start, triggers_drop),
    ]
