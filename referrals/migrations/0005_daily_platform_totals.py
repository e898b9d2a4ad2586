"""The daily rollup the dashboard reads, kept by triggers on the rows and filled from them; on
PostgreSQL a covering index for the window scans that rank pages (index-only).

The triggers (referrals/db/rollup.py) are the one place that keeps DailyPlatformTotal equal to a
GROUP BY of the counted rows (platform set, NULL metrics as 0), whatever writes the rows: a
push, a renormalization, a connection's deletion, the ORM.
"""

import django.db.models.deletion
from django.db import migrations, models

from referrals.db.rollup import (
    rollup_fill,
    rollup_lock,
    rollup_triggers_drop,
    rollup_triggers_install,
)

COVERING_INDEX = "referral_row_window"
ROWS = "referrals_referralrow"


def _models(apps):
    rows = apps.get_model("referrals", "ReferralRow")
    return rows, apps.get_model("referrals", "DailyPlatformTotal")


def rollup_start(apps, schema_editor):
    """Triggers, then the fill, with writes held off: no push can land between the two."""
    rows, totals = _models(apps)
    db = schema_editor.connection
    rollup_lock(db=db, rows=rows, totals=totals)
    rollup_triggers_install(db=db, rows=rows, totals=totals)
    rollup_fill(db=db, rows=rows, totals=totals)


def rollup_stop(apps, schema_editor):
    rows, _ = _models(apps)
    rollup_triggers_drop(db=schema_editor.connection, rows=rows)


def covering_index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {COVERING_INDEX} ON {ROWS} (connection_id, date)"
            " INCLUDE (page_id, platform_id, sessions, pageviews, transactions, purchase_revenue)"
        )


def covering_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX {COVERING_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_fact_table_without_dimension_fks"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyPlatformTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField()),
                ("row_count", models.IntegerField()),
                ("pageviews", models.BigIntegerField()),
                ("sessions", models.BigIntegerField()),
                ("transactions", models.BigIntegerField()),
                ("purchase_revenue", models.DecimalField(decimal_places=4, max_digits=24)),
                (
                    "connection",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_totals",
                        to="referrals.connection",
                    ),
                ),
                (
                    "platform",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="referrals.aiplatform",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("connection", "date", "platform"), name="daily_platform_total_key"
                    )
                ],
            },
        ),
        migrations.RunPython(rollup_start, rollup_stop),
        migrations.RunPython(covering_index_create, covering_index_drop),
    ]
