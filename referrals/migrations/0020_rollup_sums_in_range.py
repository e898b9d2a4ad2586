"""The rollups' counts are checked against the 64-bit integers (models.sums_in_range).

For SQLite, whose `+` turns an overflowing integer into a float: the rollup triggers' upsert
now fails at the row that would overflow (the push answers 422). PostgreSQL's bigint raised
already; there the check never fires, and adding it scans the two rollups once (an ACCESS
EXCLUSIVE lock for that long: docs/operations.md, "Upgrades").

SQLite adds a constraint by rebuilding the table (copy, drop, rename), and the rename fails
while the rows' triggers name the dropped table: they are dropped first and put back after.
"""

from django.db import migrations, models

from referrals.db.rollup import (
    rollup_models,
    rollup_spec,
    rollup_triggers_drop,
    rollup_triggers_install,
)


def _sqlite_rollups(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return None, []
    return apps.get_model("referrals", "ReferralRow"), rollup_models(apps)


def triggers_drop(apps, schema_editor):
    rows, rollups = _sqlite_rollups(apps, schema_editor)
    for totals in rollups:
        name = rollup_spec(totals).name
        rollup_triggers_drop(db=schema_editor.connection, rows=rows, rollup=name)


def triggers_back(apps, schema_editor):
    rows, rollups = _sqlite_rollups(apps, schema_editor)
    for totals in rollups:
        rollup_triggers_install(db=schema_editor.connection, rows=rows, totals=totals)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0019_rows_platform_index"),
    ]

    operations = [
        migrations.RunPython(triggers_drop, triggers_back),
        migrations.AddConstraint(
            model_name="dailyplatformtotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("pageviews__lte", 9223372036854775807)),
                name="daily_platform_total_pageviews_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="dailyplatformtotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("sessions__lte", 9223372036854775807)),
                name="daily_platform_total_sessions_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="dailyplatformtotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("transactions__lte", 9223372036854775807)),
                name="daily_platform_total_transactions_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="monthlypagetotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("pageviews__lte", 9223372036854775807)),
                name="monthly_page_total_pageviews_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="monthlypagetotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("sessions__lte", 9223372036854775807)),
                name="monthly_page_total_sessions_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="monthlypagetotal",
            constraint=models.CheckConstraint(
                condition=models.Q(("transactions__lte", 9223372036854775807)),
                name="monthly_page_total_transactions_in_range",
            ),
        ),
        migrations.RunPython(triggers_back, triggers_drop),
    ]
