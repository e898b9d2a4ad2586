"""The daily rollup the dashboard reads, filled from the stored rows; on PostgreSQL a covering
index for the window scans that rank pages (index-only: no table pages read)."""

import django.db.models.deletion
from django.db import migrations, models

COVERING_INDEX = "referral_row_window"


def rollup_fill(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO referrals_dailyplatformtotal (connection_id, date, platform_id, row_count,"
        " pageviews, sessions, transactions, purchase_revenue)"
        " SELECT connection_id, date, platform_id, COUNT(*), SUM(COALESCE(pageviews, 0)),"
        " SUM(COALESCE(sessions, 0)), SUM(COALESCE(transactions, 0)),"
        " SUM(COALESCE(purchase_revenue, 0)) FROM referrals_referralrow"
        " WHERE platform_id IS NOT NULL GROUP BY connection_id, date, platform_id"
    )


def covering_index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {COVERING_INDEX} ON referrals_referralrow (connection_id, date)"
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
        migrations.RunPython(rollup_fill, migrations.RunPython.noop),
        migrations.RunPython(covering_index_create, covering_index_drop),
    ]
