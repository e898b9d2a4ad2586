"""Migrations keep the rollup's triggers: 0005 installs them before its fill, and the
post-migrate reinstall follows a table rebuild (SQLite) or a column rename."""

import importlib
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection as db
from django.db import connections, migrations, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.db.citus import citus_installed
from referrals.db.rollup import rollup_triggers_install, rollup_triggers_problems
from referrals.models import DailyPlatformTotal, ReferralRow
from tests.factories import (
    ai_platform_ensure,
    event,
    push,
    rollup_from_rows,
    rollup_stored,
    row,
    sitemap_page,
)

MIGRATION_0005 = ("referrals", "0005_daily_platform_totals")
MIGRATION_0010 = ("referrals", "0010_citus_distribution")
TOTALS = DailyPlatformTotal._meta.db_table
migration_0005 = importlib.import_module("referrals.migrations.0005_daily_platform_totals")
migration_0011 = importlib.import_module("referrals.migrations.0011_rollup_natural_key")

# Schema changes commit: each test puts the schema and the triggers back as it found them.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_push_rate_limit"),
]


@pytest.fixture(autouse=True)
def platforms(transactional_db):
    """The platforms pushed to (an earlier transactional test's flush removes the seed)."""
    ai_platform_ensure("chatgpt", "ChatGPT", "chatgpt.com")
    ai_platform_ensure("claude", "Claude", "claude.ai")


@pytest.fixture(autouse=True)
def triggers_restored(transactional_db):
    yield
    rollup_triggers_install(db=db, rows=ReferralRow, totals=DailyPlatformTotal)


def problems(rows=ReferralRow) -> list[str]:
    found = rollup_triggers_problems(db=db, rows=rows, totals=DailyPlatformTotal)
    return [problem.message for problem in found]


def batch(seed: int, size: int = 30) -> list[dict]:
    rng = random.Random(seed)
    return [
        event(
            date=f"2026-05-{rng.randint(1, 3):02d}",
            raw_referrer_value=rng.choice(["chatgpt.com", "claude.ai", "google.com"]),
            raw_page_value=f"/p/{rng.randrange(8)}",
            sessions=rng.choice([None, rng.randrange(50)]),
            pageviews=rng.randrange(90),
            purchase_revenue=rng.choice([None, round(rng.random() * 90, 2)]),
        )
        for _ in range(size)
    ]


@contextmanager
def applied(*operations) -> Iterator[ProjectState]:
    """A migration of the referrals app applied as `migrate` does, post_migrate included;
    unapplied on exit. Yields the migrated state (its models name the new columns)."""
    executor = MigrationExecutor(db)
    before = executor.loader.project_state()
    migration = type("Migration", (migrations.Migration,), {"operations": list(operations)})(
        "9999_rollup_schema_change", "referrals"
    )
    after = executor.apply_migration(before.clone(), migration)
    try:
        yield after
    finally:
        executor.unapply_migration(before.clone(), migration)
        post_migrate(before, [(migration, True)])


def post_migrate(state: ProjectState, plan: list) -> None:
    emit_post_migrate_signal(0, False, db.alias, apps=state.apps, plan=plan)


def test_an_alter_field_keeps_the_rollup_equal_to_the_rows(api_client, connection):
    """On SQLite an AlterField rebuilds the table, dropping its triggers."""
    push(api_client, connection, batch(1))
    widen = migrations.AlterField(
        "referralrow", "batch_id", models.CharField(max_length=200, null=True, blank=True)
    )
    with applied(widen) as state:
        if db.vendor == "sqlite":
            assert len(problems()) == 3  # what migrate used to leave behind, silently
        post_migrate(state, [])
        assert problems() == []
        for seed in (2, 3):
            response = push(api_client, connection, batch(seed))
            assert response.status_code == 200, response.content
            assert rollup_stored(connection) == rollup_from_rows(connection)
    assert problems() == []
    push(api_client, connection, batch(4))
    assert rollup_stored(connection) == rollup_from_rows(connection)


def test_a_renamed_column_gets_triggers_that_name_it(connection):
    """The migrated state's models name the new column; the rows are written through them."""
    chatgpt_row = row(connection, "2026-05-01", "chatgpt", "/a", sessions=4, pageviews=5)
    rename = migrations.AlterField(
        "referralrow", "sessions", models.BigIntegerField(null=True, blank=True, db_column="visits")
    )
    with applied(rename) as state:
        rows = state.apps.get_model("referrals", "ReferralRow")
        assert problems(rows)  # PostgreSQL: functions naming `sessions` fail the next write
        post_migrate(state, [])
        assert problems(rows) == []
        page = sitemap_page(connection.brand, connection.website, "/b")
        claude = ai_platform_ensure("claude", "Claude", "claude.ai")
        rows.objects.create(
            connection_id=connection.pk,
            brand_id=connection.brand_id,
            date="2026-05-01",
            raw_referrer_value="claude.ai",
            raw_page_value="/b",
            page_id=page.pk,
            platform_id=claude.pk,
            sessions=7,
            updated_at=timezone.now(),
        )
        rows.objects.filter(pk=chatgpt_row.pk).update(sessions=9)
        assert rollup_stored(connection) == rollup_from_rows(connection, rows)
        rows.objects.filter(raw_page_value="/b").delete()
        assert rollup_stored(connection) == rollup_from_rows(connection, rows)
    assert problems() == []
    assert rollup_stored(connection) == rollup_from_rows(connection)


def rollup_start(editor) -> None:
    """Migration 0005's trigger step, with the models of the latest state: the tables are
    migrated to the end (0009 made brand_id part of the rollup's key, which 0005's models
    lack)."""
    state = MigrationExecutor(db).loader.project_state()
    migration_0005.rollup_start(state.apps, editor)


def rollup_removed() -> None:
    """The database as migration 0005 finds it: rows, an empty rollup, no triggers."""
    with db.schema_editor() as editor:
        state = MigrationExecutor(db).loader.project_state(MIGRATION_0005, at_end=True)
        migration_0005.rollup_stop(state.apps, editor)
    DailyPlatformTotal.objects.all().delete()


def test_migration_0005_installs_the_triggers_before_it_fills(api_client, connection):
    push(api_client, connection, batch(5))
    expected = rollup_stored(connection)
    rollup_removed()
    assert problems()
    with CaptureQueriesContext(db) as queries, db.schema_editor() as editor:
        assert db.in_atomic_block
        rollup_start(editor)
    statements = [query["sql"] for query in queries.captured_queries]
    fills = [i for i, s in enumerate(statements) if s.startswith(f"INSERT INTO {TOTALS} (")]
    installs = [i for i, s in enumerate(statements) if s.startswith("CREATE")]
    assert len(fills) == 1
    assert len(installs) == (6 if db.vendor == "postgresql" else 3)
    assert max(installs) < fills[0]
    if db.vendor == "postgresql":
        [lock] = [i for i, s in enumerate(statements) if s.startswith("LOCK TABLE")]
        assert lock < min(installs)
    assert problems() == []
    assert rollup_stored(connection) == expected == rollup_from_rows(connection)


@pytest.mark.postgres
def test_a_push_in_flight_during_migration_0005_reaches_the_rollup(api_client, connection):
    """A write not yet committed when 0005 runs: the step waits for it, then counts it."""
    push(api_client, connection, batch(6))
    rollup_removed()
    written, release = threading.Event(), threading.Event()

    def write_then_wait() -> None:
        try:
            with transaction.atomic():
                row(connection, "2026-05-02", "chatgpt", "/in-flight", sessions=11)
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    def migrate_0005() -> None:
        try:
            with connections[db.alias].schema_editor() as editor:
                rollup_start(editor)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write_then_wait)
    writer.start()
    assert written.wait(10)
    migration = threading.Thread(target=migrate_0005)
    migration.start()
    deadline = time.monotonic() + 10
    while not (waited := waiting_for_the_rows()) and time.monotonic() < deadline:
        time.sleep(0.02)
    release.set()
    writer.join(10)
    migration.join(10)
    assert waited
    assert ReferralRow.objects.filter(raw_page_value="/in-flight").exists()
    assert problems() == []
    assert rollup_stored(connection) == rollup_from_rows(connection)


def waiting_for_the_rows() -> bool:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass(%s)",
            [ReferralRow._meta.db_table],
        )
        return cursor.fetchone()[0] > 0


def test_migration_0011_rebuilds_the_rollup_on_its_natural_key(api_client, connection):
    """Back to the generated id and forward again: the rollup is refilled from the rows each
    way and the triggers follow each table (Citus refuses going back past 0010, so there the
    step is taken forward only, from a rollup emptied by hand)."""
    push(api_client, connection, batch(7))
    expected = rollup_stored(connection)
    executor = MigrationExecutor(db)
    latest = executor.loader.graph.leaf_nodes("referrals")
    if not citus_installed(db=db):
        executor.migrate([MIGRATION_0010])
        old = MigrationExecutor(db).loader.project_state(MIGRATION_0010, at_end=True)
        old_totals = old.apps.get_model("referrals", "DailyPlatformTotal")
        assert old_totals.objects.filter(connection_id=connection.pk).count() == len(expected)
        push(api_client, connection, batch(8))  # under 0010's triggers and generated ids
        executor = MigrationExecutor(db)
        executor.migrate(latest)
    else:
        DailyPlatformTotal.objects.all().delete()
        with db.schema_editor() as editor:
            state = MigrationExecutor(db).loader.project_state()
            migration_0011.rollup_start(state.apps, editor)
    assert problems() == []
    assert rollup_stored(connection) == rollup_from_rows(connection)
    push(api_client, connection, batch(9))
    assert rollup_stored(connection) == rollup_from_rows(connection)
    with db.cursor() as cursor:
        columns = {column.name for column in db.introspection.get_table_description(cursor, TOTALS)}
    assert "id" not in columns
