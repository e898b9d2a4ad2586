"""Citus: whether a database is a coordinator, and the distribution of tables created later.

Migration 0010 distributed the tables that existed then. A table created by a later migration
is distributed by `distribute_new_tables`, called in the same migration right after its
CreateModel: Django adds a new table's foreign keys at the end of the migration (deferred
SQL), so the table has none yet. Found by trying Citus 13.2.2: a table created with a foreign
key to a reference table becomes a Citus local table at once, and a Citus local table with an
identity column (Django's BigAutoField) can then be neither distributed nor made a reference
table, nor can its foreign key be dropped.

As migration 0009 did for the first tables, a new table that grows with traffic keeps `id` as
its primary key in Django's state and gets (brand_id, id) as its primary key in PostgreSQL
(plain or Citus): Citus requires the distribution column in every unique key, and Django 5.2's
CompositePrimaryKey cannot hold an auto-incremented id. Such a table is never the target of a
foreign key.
"""

from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

CITUS_INSTALLED = "SELECT 1 FROM pg_extension WHERE extname = 'citus'"
# Every distributed table is colocated with the pages: a brand's rows of every table on one shard.
COLOCATION_ANCHOR = "referrals_sitemappage"


def citus_installed(*, db: BaseDatabaseWrapper) -> bool:
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute(CITUS_INSTALLED)
        return cursor.fetchone() is not None


def distribute_new_tables(
    *, db: BaseDatabaseWrapper, distributed: Sequence[str] = (), reference: Sequence[str] = ()
) -> None:
    """Distribute new tables by brand_id (colocated with the pages) and make others reference
    tables, where Citus is installed. Call it before the tables get their foreign keys (see the
    module's docstring). On every PostgreSQL a distributed one whose primary key is its `id`
    gets (brand_id, id) instead (a natural key that leads with brand_id stays); nothing
    happens on SQLite."""
    if db.vendor != "postgresql":
        return
    with db.cursor() as cursor:
        for table in distributed:
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [table],
            )
            if "brand_id" not in {name for (name,) in cursor.fetchall()}:  # not a natural key
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
                cursor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (brand_id, id)"
                )
    if not citus_installed(db=db):
        return
    with db.cursor() as cursor:
        # The foreign keys to reference tables, added later in the same transaction, need one
        # connection per node after the distribution's parallel work.
        cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        for table in reference:
            cursor.execute("SELECT create_reference_table(%s)", [table])
        for table in distributed:
            cursor.execute(
                "SELECT create_distributed_table(%s, 'brand_id', colocate_with => %s)",
                [table, COLOCATION_ANCHOR],
            )
