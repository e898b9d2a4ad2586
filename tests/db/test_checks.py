"""The rollup check names broken triggers, rollup_repair mends them, and neither blocks migrate."""

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.db import connection as db

from referrals.db.checks import E_ROLLUP_TRIGGERS
from referrals.db.rollup import (
    REPAIRED_AFTER_MIGRATE,
    TRIGGER_MISSING,
    TRIGGER_NOT_FIRING,
    function_name,
    trigger_name,
)
from referrals.management.commands import rollup_repair
from tests.factories import ai_platform_ensure, event, push, rollup_from_rows, rollup_stored

BASE_DIR = Path(__file__).resolve().parent.parent.parent
ROWS = "referrals_referralrow"

# DDL on the test database commits: these tests leave the triggers as they found them.
ddl = pytest.mark.django_db(transaction=True)


def rollup_errors() -> list:
    messages = run_checks(tags=[Tags.database], databases=["default"])
    return [message for message in messages if message.id == E_ROLLUP_TRIGGERS]


def sql(statement: str) -> None:
    with db.cursor() as cursor:
        cursor.execute(statement)


@ddl
@pytest.mark.usefixtures("no_push_rate_limit")
def test_a_missing_trigger_is_an_error_until_rollup_repair(api_client, connection):
    ai_platform_ensure("chatgpt", "ChatGPT", "chatgpt.com")  # gone after an earlier flush
    batch = [event(raw_page_value=f"/p/{i}", sessions=i) for i in range(5)]
    push(api_client, connection, batch)
    assert rollup_errors() == []
    on_table = f" ON {ROWS}" if db.vendor == "postgresql" else ""
    sql(f"DROP TRIGGER {trigger_name('update')}{on_table}")
    push(api_client, connection, [{**e, "sessions": 100} for e in batch])
    assert rollup_stored(connection) != rollup_from_rows(connection)  # what goes unnoticed

    [error] = rollup_errors()
    assert TRIGGER_MISSING.format(trigger=trigger_name("update"), table=ROWS) in error.msg
    assert "rollup_repair" in error.hint

    out = StringIO()
    call_command("rollup_repair", stdout=out)
    totals = len(rollup_from_rows(connection))
    assert rollup_repair.REPAIRED.format(totals=totals, name="daily") in out.getvalue()
    assert rollup_errors() == []
    assert rollup_stored(connection) == rollup_from_rows(connection)


@ddl
@pytest.mark.postgres
def test_a_disabled_trigger_or_an_edited_function_is_an_error():
    sql(f"ALTER TABLE {ROWS} DISABLE TRIGGER {trigger_name('insert')}")
    sql(
        f"CREATE OR REPLACE FUNCTION {function_name('delete')}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$"
    )
    try:
        [error] = rollup_errors()
        assert TRIGGER_NOT_FIRING.format(trigger=trigger_name("insert"), table=ROWS) in error.msg
        assert f"{function_name('delete')}()" in error.msg
    finally:
        call_command("rollup_repair", stdout=StringIO())
    assert rollup_errors() == []


def manage(*args: str, database: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def drop_trigger(database: Path) -> None:
    with sqlite3.connect(database) as sqlite:
        sqlite.execute(f"DROP TRIGGER {trigger_name('delete')}")


def test_migrate_runs_past_the_check_and_reinstalls_what_a_migration_dropped(tmp_path):
    """migrate runs the check before migrating: a fresh database and pending migrations pass
    it. With nothing pending, broken triggers fail the start-up check until repaired."""
    if db.vendor != "sqlite":
        pytest.skip("runs manage.py on a SQLite file; the SQLite pass covers it")
    database = tmp_path / "fresh.sqlite3"
    assert manage("migrate", "referrals", "-v0", database=database).returncode == 0
    drop_trigger(database)  # as a table rebuild by a pending migration does

    result = manage("migrate", database=database)  # admin, sessions, ... pending
    assert result.returncode == 0, result.stderr
    assert REPAIRED_AFTER_MIGRATE.format(totals=0, name="daily") in result.stdout

    drop_trigger(database)
    result = manage("check", "--database", "default", database=database)
    assert result.returncode != 0
    assert E_ROLLUP_TRIGGERS in result.stderr
    assert "rollup_repair" in result.stderr
    assert manage("rollup_repair", database=database).returncode == 0
    assert manage("check", "--database", "default", database=database).returncode == 0
