"""brand_id in every key of the tables that grow with traffic: the schema Citus shards by brand.

Decisions (docs/scaling.md, "The schema"):
- The rollup, the push log and the dropped-referrer tally get a `brand` copied from their
  connection; every unique key of the rows, the pages, the rollup and the tally leads with it
  (the push's ON CONFLICT targets follow).
- Primary keys: on PostgreSQL (plain or Citus) the database's primary key of those five tables
  is (brand_id, id). Django's state keeps `id` alone as the primary key: a model with a
  CompositePrimaryKey cannot be registered in the admin nor be the target of a ForeignKey
  (ReferralRow.page), and every query filters on brand_id anyway. The rollup's natural key is
  its unique (brand, connection, date, platform), which the triggers upsert on. SQLite keeps
  `id` as its primary key (changing it means rebuilding the table; nothing shards there).
- The covering index of the rows' window scans leads with brand_id, so reads that filter on
  it stay index-only; no index is added to the rows table.

The rollup triggers are dropped first and reinstalled last, from the models of each state:
their ON CONFLICT target is the rollup's unique key. One statement per `execute` (Citus).
"""

import django.db.models.deletion
from django.db import migrations, models

from referrals.db.rollup import rollup_triggers_drop, rollup_triggers_install

TABLES = ("referralrow", "sitemappage", "dailyplatformtotal", "pushlog", "droppedreferrer")
NEW_BRAND = ("dailyplatformtotal", "pushlog", "droppedreferrer")
ROWS = "referrals_referralrow"
COVERING_INDEX = "referral_row_window"
COVERING = " INCLUDE (page_id, platform_id, sessions, pageviews, transactions, purchase_revenue)"


def _models(apps):
    return apps.get_model("referrals", "ReferralRow"), apps.get_model(
        "referrals", "DailyPlatformTotal"
    )


def triggers_drop(apps, schema_editor):
    rows, _ = _models(apps)
    rollup_triggers_drop(db=schema_editor.connection, rows=rows)


def triggers_install(apps, schema_editor):
    rows, totals = _models(apps)
    rollup_triggers_install(db=schema_editor.connection, rows=rows, totals=totals)


def _postgres_keys(schema_editor, *, key: str, covering: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model in TABLES:
        table = f"referrals_{model}"
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
    schema_editor.execute(f"DROP INDEX {COVERING_INDEX}")
    schema_editor.execute(f"CREATE INDEX {COVERING_INDEX} ON {ROWS} ({covering}){COVERING}")


def brand_keys(apps, schema_editor):
    _postgres_keys(schema_editor, key="brand_id, id", covering="brand_id, connection_id, date")


def id_keys(apps, schema_editor):
    _postgres_keys(schema_editor, key="id", covering="connection_id, date")


def _brand_field(null: bool) -> models.ForeignKey:
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        null=null,
        on_delete=django.db.models.deletion.DO_NOTHING,
        related_name="+",
        to="referrals.brand",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0008_drop_rate_limit_counter"),
    ]

    operations = [
        migrations.RunPython(triggers_drop, triggers_install),
        *[migrations.AddField(model, "brand", _brand_field(null=True)) for model in NEW_BRAND],
        *[
            migrations.RunSQL(
                f"UPDATE referrals_{model} SET brand_id = (SELECT c.brand_id FROM "
                f"referrals_connection c WHERE c.id = referrals_{model}.connection_id)",
                migrations.RunSQL.noop,
            )
            for model in NEW_BRAND
        ],
        *[migrations.AlterField(model, "brand", _brand_field(null=False)) for model in NEW_BRAND],
        migrations.RemoveConstraint("referralrow", "referral_row_upsert_key"),
        migrations.AddConstraint(
            "referralrow",
            models.UniqueConstraint(
                fields=("brand", "connection", "date", "page", "raw_referrer_value"),
                name="referral_row_upsert_key",
            ),
        ),
        migrations.RemoveConstraint("dailyplatformtotal", "daily_platform_total_key"),
        migrations.AddConstraint(
            "dailyplatformtotal",
            models.UniqueConstraint(
                fields=("brand", "connection", "date", "platform"),
                name="daily_platform_total_key",
            ),
        ),
        migrations.RemoveConstraint("droppedreferrer", "dropped_referrer_unique"),
        migrations.AddConstraint(
            "droppedreferrer",
            models.UniqueConstraint(
                fields=("brand", "connection", "raw_referrer_value"),
                name="dropped_referrer_unique",
            ),
        ),
        migrations.RunPython(brand_keys, id_keys),
        migrations.RunPython(triggers_install, triggers_drop),
    ]
