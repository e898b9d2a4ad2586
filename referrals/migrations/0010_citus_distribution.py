"""Citus: the tables that grow with traffic distributed by brand_id and colocated, the small
shared ones made reference tables. Nothing happens on SQLite, nor on PostgreSQL without the
`citus` extension.

What goes where (docs/scaling.md, "The schema and what runs where"):
- distributed by brand_id, colocated with the pages: pages, rows, the daily rollup, the push
  log, the dropped-referrer tally (agent rows will join them);
- reference tables (a copy on every node, so that the distributed tables keep their foreign
  keys to them and joins with them stay on one node): organizations, brands, API keys,
  platforms and their entries, connections, GA integrations. A write to one goes to every
  node; the busiest is a connection's `last_pushed_at`, one row per push.
- local to the coordinator: Django's own tables (users, sessions, admin log, cache). Citus
  adds those chained to a reference table by a foreign key (organization members, users) to
  its metadata as local tables by itself.

Order, found by trying Citus 13.2.2: the foreign keys of the tables to distribute are dropped
first and put back last. Otherwise making their targets reference tables turns them into
Citus local tables, and a Citus local table with an identity column (Django's BigAutoField)
cannot be distributed.

Not atomic: Citus runs its DDL statement by statement, on several nodes. A second run skips
the tables already distributed, so `migrate` finishes a run that failed part-way, and it adds
back every foreign key the models declare that a failed run had dropped and not restored.
"""

from django.db import migrations

from referrals.db.citus import citus_installed

REFERENCE = (
    "referrals_organization",
    "referrals_brand",
    "referrals_apikey",
    "referrals_aiplatform",
    "referrals_aiplatformentry",
    "referrals_connection",
    "referrals_googleanalyticsintegration",
)
# The first one is the colocation group's anchor.
DISTRIBUTED = (
    "referrals_sitemappage",
    "referrals_referralrow",
    "referrals_dailyplatformtotal",
    "referrals_pushlog",
    "referrals_droppedreferrer",
)

# For every session of the database: the rollup triggers fire on the shards; the admin's
# lists and deletions across brands may join distributed tables on other columns than
# brand_id (the API, the dashboard and the push never do: the Citus leg of the tests proves
# it with citus.multi_task_query_log_level = error).
SETTINGS = ("citus.enable_unsafe_triggers", "citus.enable_repartition_joins")


def distribute(apps, schema_editor):
    db = schema_editor.connection
    if not citus_installed(db=db):
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        [database] = cursor.fetchone()
        for setting in SETTINGS:
            cursor.execute(f'ALTER DATABASE "{database}" SET {setting} = on')
            cursor.execute(f"SET {setting} = on")
        cursor.execute(
            "SELECT logicalrelid::text FROM pg_dist_partition WHERE logicalrelid::text = ANY(%s)",
            [[*REFERENCE, *DISTRIBUTED]],
        )
        done = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) "
            "ORDER BY 1, 2",
            [[t for t in DISTRIBUTED if t not in done]],
        )
        foreign_keys = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for table in REFERENCE:
            if table not in done:
                cursor.execute("SELECT create_reference_table(%s)", [table])
        for table in DISTRIBUTED:
            if table not in done:
                cursor.execute(
                    "SELECT create_distributed_table(%s, 'brand_id', colocate_with => %s)",
                    [table, "default" if table == DISTRIBUTED[0] else DISTRIBUTED[0]],
                )
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        foreign_keys_restore(apps, schema_editor, cursor)
        # Found by trying: a table that Citus had made a local table of its metadata (a foreign
        # key to a new reference table) comes out of create_reference_table with its identity
        # sequence back at its start. The next ids follow the stored ones again.
        # Tables with an identity `id` only: the connections' ids are ULIDs made by the
        # application, and the rollup has its natural key from migration 0011 on (a run of
        # this migration again, after a failure, may find it so).
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'id' "
            "AND is_identity = 'YES' AND table_name = ANY(%s)",
            [[*REFERENCE, *DISTRIBUTED]],
        )
        with_identity = {name for (name,) in cursor.fetchall()}
        for table in REFERENCE + DISTRIBUTED:
            if table not in with_identity:
                continue
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), coalesce(max(id), 0) + 1, false) "
                f"FROM {table}",
                [table],
            )


def foreign_keys_restore(apps, schema_editor, cursor) -> None:
    """The foreign keys the models declare on the distributed tables that are missing: those a
    run that failed after distributing a table had dropped (none after a run in one go)."""
    cursor.execute(
        "SELECT conrelid::regclass::text, a.attname FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
        [list(DISTRIBUTED)],
    )
    present = set(cursor.fetchall())
    for model in apps.get_app_config("referrals").get_models():
        if model._meta.db_table not in DISTRIBUTED:
            continue
        for field in model._meta.local_fields:
            if field.remote_field is None or not field.db_constraint:
                continue
            if (model._meta.db_table, field.column) not in present:
                schema_editor.execute(
                    schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
                )


def undistribute(apps, schema_editor):
    """Back to local tables (Citus refuses undistribute_table on identity columns: says so)."""
    db = schema_editor.connection
    if not citus_installed(db=db):
        return
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text = ANY(%s)",
            [[*REFERENCE, *DISTRIBUTED]],
        )
        if cursor.fetchone()[0]:
            raise NotImplementedError(
                "Citus cannot undistribute tables with identity columns: restore a backup"
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0009_brand_in_keys"),
    ]

    operations = [migrations.RunPython(distribute, undistribute)]
