"""Citus: a table created by a migration after 0010 (with foreign keys to reference tables and
an identity column, as Django makes them) is distributed by brand_id and colocated with the
pages when distribute_new_tables runs before its foreign keys are added."""

import importlib

import pytest
from django.db import connection as db
from django.db import models
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import isolate_apps

from referrals.db.citus import COLOCATION_ANCHOR, distribute_new_tables
from referrals.models import Brand, Connection

pytestmark = [pytest.mark.citus, pytest.mark.django_db(transaction=True)]


def partition(table: str) -> tuple[str, bool] | None:
    """(partition method, colocated with the pages) of a table in Citus' metadata."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT p.partmethod, p.colocationid = a.colocationid FROM pg_dist_partition p, "
            "pg_dist_partition a WHERE p.logicalrelid = %s::regclass "
            "AND a.logicalrelid = %s::regclass",
            [table, COLOCATION_ANCHOR],
        )
        return cursor.fetchone()


@isolate_apps("referrals")
def test_new_tables_are_distributed_and_reference_tables_made(brand):
    class Tally(models.Model):  # noqa: DJ008
        brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
        connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
        count = models.IntegerField()

        class Meta:
            app_label = "referrals"
            db_table = "referrals_test_tally"
            constraints = [
                models.UniqueConstraint(fields=["brand", "connection"], name="test_tally_key")
            ]

    class Kind(models.Model):  # noqa: DJ008
        brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "referrals"
            db_table = "referrals_test_kind"

    try:
        with db.schema_editor() as editor:
            editor.create_model(Tally)
            editor.create_model(Kind)
            distribute_new_tables(
                db=db, distributed=["referrals_test_tally"], reference=["referrals_test_kind"]
            )
        assert partition("referrals_test_tally") == ("h", True)
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'referrals_test_tally_pkey'"
            )
            assert cursor.fetchone()[0] == "PRIMARY KEY (brand_id, id)"
        assert partition("referrals_test_kind")[0] == "n"
        connection = Connection.objects.create(brand=brand, website="example.com")
        Tally.objects.create(brand=brand, connection=connection, count=1)
        Kind.objects.create(brand=brand, name="a")
        # The foreign keys came back, checked on the shards.
        with pytest.raises(Exception, match="foreign key"):
            Tally.objects.create(brand_id=brand.pk + 1000, connection=connection, count=1)
    finally:
        with db.schema_editor() as editor:
            editor.delete_model(Tally)
            editor.delete_model(Kind)


def test_migration_0010_run_again_restores_the_foreign_keys_a_failed_run_dropped():
    """A run that failed after distributing the tables leaves their foreign keys dropped; the
    next `migrate` (the same migration again) finds the tables distributed and puts the keys
    back from the models."""
    migration = importlib.import_module("referrals.migrations.0010_citus_distribution")
    state = MigrationExecutor(db).loader.project_state(
        ("referrals", "0010_citus_distribution"), at_end=True
    )
    before = foreign_keys()
    dropped = [(t, name) for t, name, _ in before if t == "referrals_pushlog"]
    assert dropped  # the push log's key to its connection (the rows have none since 0018)
    with db.cursor() as cursor:
        for table, name in dropped:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    try:
        with db.schema_editor() as editor:
            migration.distribute(state.apps, editor)
        # Every key is back (and the rows' key to their connection, which 0010's models have
        # and migration 0018 drops).
        assert {(t, d) for t, _, d in before} <= {(t, d) for t, _, d in foreign_keys()}
    finally:
        after = foreign_keys()
        restored = {(t, d) for t, _, d in after}
        kept = {(t, d) for t, _, d in before}
        with db.cursor() as cursor:
            for table, name, definition in before:
                if (table, definition) not in restored:
                    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            for table, name, definition in after:
                if (table, definition) not in kept:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


def foreign_keys() -> list[tuple[str, str, str]]:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text LIKE 'referrals_%%' ORDER BY 1, 2"
        )
        return cursor.fetchall()
