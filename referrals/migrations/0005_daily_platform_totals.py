"""The daily rollup the dashboard reads, kept by triggers on the rows and filled from them; on
PostgreSQL a covering index for the window scans that rank pages (index-only).

The triggers are the one place that keeps DailyPlatformTotal equal to a GROUP BY of the
counted rows (platform set, NULL metrics as 0), whatever writes the rows: a push, a
renormalization, a connection's deletion, the ORM.
"""

import django.db.models.deletion
from django.db import migrations, models

COVERING_INDEX = "referral_row_window"
ROWS = "referrals_referralrow"
DAILY = "referrals_dailyplatformtotal"
KEY = "connection_id, date, platform_id"
SUMS = ("row_count", "pageviews", "sessions", "transactions", "purchase_revenue")
METRICS = SUMS[1:]


def _grouped(table: str, sign: str) -> str:
    """The sums of a table's rows per (connection, day, platform), times `sign`."""
    sums = ", ".join(f"{sign}sum(coalesce({m}, 0)) AS {m}" for m in METRICS)
    return (
        f"SELECT {KEY}, {sign}count(*) AS row_count, {sums} FROM {table} "
        f"WHERE platform_id IS NOT NULL GROUP BY {KEY}"
    )


_ADD = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in SUMS)
_UPSERT = f"INSERT INTO {DAILY} AS d ({KEY}, {', '.join(SUMS)}) "
_CONFLICT = f" ON CONFLICT ({KEY}) DO UPDATE SET {_ADD}"
_DROP_EMPTY = f"DELETE FROM {DAILY} WHERE row_count = 0"

# PostgreSQL: statement-level triggers with transition tables, one grouped statement per
# write (~11 ms for a 10,000-row push; reading the replaced values with a join of the batch
# and the stored rows cost ~50 ms). INSERT ... ON CONFLICT DO UPDATE fires the INSERT
# trigger for the rows it inserted and the UPDATE trigger for the rows it updated.
_PG_DELTA_SUMS = ", ".join(f"sum({c})" for c in SUMS)
POSTGRES_UP = f"""
CREATE FUNCTION referrals_daily_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_UPSERT} {_grouped("new_rows", "")} {_CONFLICT};
  RETURN NULL;
END $$;

CREATE FUNCTION referrals_daily_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_UPSERT} SELECT {KEY}, {_PG_DELTA_SUMS}
  FROM ({_grouped("new_rows", "")} UNION ALL {_grouped("old_rows", "-")}) AS delta
  GROUP BY {KEY} HAVING {" OR ".join(f"sum({c}) <> 0" for c in SUMS)} {_CONFLICT};
  {_DROP_EMPTY} AND ({KEY}) IN (SELECT {KEY} FROM old_rows);
  RETURN NULL;
END $$;

-- Subtracts only (never inserts): a connection's deletion may remove its rollup first.
CREATE FUNCTION referrals_daily_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {DAILY} AS d SET {", ".join(f"{c} = d.{c} + g.{c}" for c in SUMS)}
  FROM ({_grouped("old_rows", "-")}) AS g
  WHERE d.connection_id = g.connection_id AND d.date = g.date
    AND d.platform_id = g.platform_id;
  {_DROP_EMPTY} AND ({KEY}) IN (SELECT {KEY} FROM old_rows);
  RETURN NULL;
END $$;

CREATE TRIGGER referral_row_daily_insert AFTER INSERT ON {ROWS}
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION referrals_daily_on_insert();
CREATE TRIGGER referral_row_daily_update AFTER UPDATE ON {ROWS}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION referrals_daily_on_update();
CREATE TRIGGER referral_row_daily_delete AFTER DELETE ON {ROWS}
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION referrals_daily_on_delete();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER referral_row_daily_insert ON {ROWS};
DROP TRIGGER referral_row_daily_update ON {ROWS};
DROP TRIGGER referral_row_daily_delete ON {ROWS};
DROP FUNCTION referrals_daily_on_insert();
DROP FUNCTION referrals_daily_on_update();
DROP FUNCTION referrals_daily_on_delete();
"""


def _sqlite_row(prefix: str, sign: str) -> str:
    """One row's values for the rollup upsert, times `sign` (SQLite has row triggers only)."""
    metrics = ", ".join(f"{sign}coalesce({prefix}.{m}, 0)" for m in METRICS)
    add = ", ".join(f"{c} = {c} + excluded.{c}" for c in SUMS)  # no table alias in a trigger
    return (
        f"INSERT INTO {DAILY} ({KEY}, {', '.join(SUMS)}) "
        f"SELECT {prefix}.connection_id, {prefix}.date, {prefix}.platform_id, "
        f"{sign}1, {metrics} WHERE {prefix}.platform_id IS NOT NULL "
        f"ON CONFLICT ({KEY}) DO UPDATE SET {add};"
    )


_SQLITE_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("platform_id", *METRICS))
_SQLITE_OLD_GROUP = (
    "connection_id = OLD.connection_id AND date = OLD.date AND platform_id = OLD.platform_id"
)
SQLITE_UP = [
    f"CREATE TRIGGER referral_row_daily_insert AFTER INSERT ON {ROWS} "
    f"BEGIN {_sqlite_row('NEW', '')} END",
    f"CREATE TRIGGER referral_row_daily_update AFTER UPDATE ON {ROWS} WHEN {_SQLITE_CHANGED} "
    f"BEGIN {_sqlite_row('OLD', '-')} {_sqlite_row('NEW', '')} "
    f"{_DROP_EMPTY} AND {_SQLITE_OLD_GROUP}; END",
    f"CREATE TRIGGER referral_row_daily_delete AFTER DELETE ON {ROWS} "
    f"WHEN OLD.platform_id IS NOT NULL BEGIN "
    f"UPDATE {DAILY} SET row_count = row_count - 1, "
    + ", ".join(f"{m} = {m} - coalesce(OLD.{m}, 0)" for m in METRICS)
    + f" WHERE {_SQLITE_OLD_GROUP}; {_DROP_EMPTY} AND {_SQLITE_OLD_GROUP}; END",
]
SQLITE_DOWN = [
    f"DROP TRIGGER referral_row_daily_{op}" for op in ("insert", "update", "delete")
]


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    else:
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    else:
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


def rollup_fill(apps, schema_editor):
    schema_editor.execute(f"INSERT INTO {DAILY} ({KEY}, {', '.join(SUMS)}) {_grouped(ROWS, '')}")


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
        migrations.RunPython(rollup_fill, migrations.RunPython.noop),
        migrations.RunPython(triggers_create, triggers_drop),
        migrations.RunPython(covering_index_create, covering_index_drop),
    ]
