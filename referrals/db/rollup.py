"""The rollups' triggers: SQL generated from the models, installed, checked, repaired.

Each rollup (ROLLUPS: the daily one per platform, DailyPlatformTotal, and the page rollup per
month, MonthlyPageTotal) equals a GROUP BY of ReferralRow (platform set, a NULL metric counts as 0)
because triggers on the rows update it in the writing transaction; each rollup has its own
three triggers and functions, named after it (`rollup_spec`). Django does not know about
them, so every function here takes the two model classes (the rollup's model says which
rollup): a migration passes its historical models (`apps.get_model`), later code the current
ones, and the SQL names the columns those models have (a column renamed by a later migration
gets SQL that names the new column). The fields are found by their names below; a RenameField
of one of them changes these names. A monthly rollup groups the rows' date truncated to its
month (an expression in the SQL of each database).

PostgreSQL: statement-level triggers with transition tables, one grouped statement per write
(~11 ms for a 10,000-row push; reading the replaced values with a join of the batch and the
stored rows cost ~50 ms). INSERT ... ON CONFLICT DO UPDATE fires the INSERT trigger for the
rows it inserted and the UPDATE trigger for the rows it updated. SQLite has row triggers only:
one upsert per row. One statement per `execute` (a Citus port runs DDL statement by statement).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from referrals.db.citus import citus_installed

OPERATIONS = ("insert", "update", "delete")
METRIC_FIELDS = ("pageviews", "sessions", "transactions", "purchase_revenue")
COUNT_FIELD = "row_count"
VENDORS = ("postgresql", "sqlite")

TRIGGER_MISSING = "trigger {trigger} is missing on table {table}"
TRIGGER_NOT_FIRING = "trigger {trigger} on table {table} is disabled or calls another function"
TRIGGER_DIFFERS = "trigger {trigger} differs from the SQL the models generate"
FUNCTION_DIFFERS = "function {function}() is missing or differs from the SQL the models generate"
REPAIRED_AFTER_MIGRATE = (
    "Rollup triggers were missing: reinstalled them and recomputed {totals} {name} totals."
)
# The key field of a monthly rollup: the rows' date truncated to the first day of its month.
MONTH_FIELD = "month"
ROWS_DATE_FIELD = "date"


@dataclass(frozen=True)
class RollupSpec:
    """A rollup of the rows: the name in its triggers' and functions' names, its model, and
    the fields of its key (each a field of the rows too, but `month`: the rows' month)."""

    name: str
    model: str
    key_fields: tuple[str, ...]


DAILY = "daily"
# brand leads every key from migration 0009 on (the distribution column on Citus); the models
# of earlier migrations have no brand on the daily rollup, and their SQL has no brand either.
ROLLUPS = (
    RollupSpec(DAILY, "DailyPlatformTotal", ("brand", "connection", "date", "platform")),
    # Migrations 0016-0017 only (dropped: cost a push as much as its rows; models today lack it).
    RollupSpec("page_daily", "DailyPageTotal", ("brand", "connection", "date", "page")),
    RollupSpec("page_monthly", "MonthlyPageTotal", ("brand", "connection", MONTH_FIELD, "page")),
)


def rollup_spec(totals: type[Model]) -> RollupSpec:
    """The rollup a model holds (historical models have the same name)."""
    return next(spec for spec in ROLLUPS if spec.model == totals._meta.object_name)


def rollup_models(apps: Apps = global_apps) -> list[type[Model]]:
    """The models of every rollup the state of `apps` has (an early state has fewer)."""
    found = []
    for spec in ROLLUPS:
        try:
            found.append(apps.get_model("referrals", spec.model))
        except LookupError:
            continue
    return found


def trigger_name(operation: str, rollup: str = DAILY) -> str:
    return f"referral_row_{rollup}_{operation}"


def function_name(operation: str, rollup: str = DAILY) -> str:
    """The PostgreSQL trigger function of an operation."""
    return f"referrals_{rollup}_on_{operation}"


@dataclass(frozen=True)
class TriggerProblem:
    message: str
    # Writes may have reached the rows without the trigger: the rollup needs recomputing.
    writes_missed: bool


@dataclass(frozen=True)
class _Tables:
    """Table and column names of the rows (`rows_*`) and of the rollup, from the models."""

    rollup: str  # the rollup's name, in its triggers' and functions' names
    rows: str
    totals: str
    rows_table: str  # unquoted, as TG_TABLE_NAME and pg_class hold them
    totals_table: str
    totals_id: str | None  # the rollup's generated id before migration 0011, None since
    rows_key: tuple[str, ...]  # the rows' column of each key column (the date for a month)
    rows_metrics: tuple[str, ...]
    rows_platform: str
    key: tuple[str, ...]
    metrics: tuple[str, ...]
    row_count: str
    month: int | None  # the position of the month in the key, if the rollup is monthly

    @property
    def sums(self) -> tuple[str, ...]:
        return (self.row_count, *self.metrics)

    def rows_keys(self, vendor: str, prefix: str = "") -> tuple[str, ...]:
        """The key of a row as SQL: its columns, and its month for a monthly rollup."""
        keys = [f"{prefix}{column}" for column in self.rows_key]
        if self.month is not None:
            day = keys[self.month]
            keys[self.month] = (
                f"date_trunc('month', {day})::date"
                if vendor == "postgresql"
                else f"date({day}, 'start of month')"
            )
        return tuple(keys)


def _name(name: str) -> str:
    # Django's default names need no quoting; leaving them bare keeps the SQL identical to
    # what databases migrated before this module hold (the check compares it).
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else f'"{name}"'


def _tables(rows: type[Model], totals: type[Model]) -> _Tables:
    def columns(model: type[Model], fields: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_name(model._meta.get_field(field).column) for field in fields)

    spec = rollup_spec(totals)
    names = {field.name for field in totals._meta.get_fields()}
    key = tuple(field for field in spec.key_fields if field in names)
    rows_fields = tuple(ROWS_DATE_FIELD if field == MONTH_FIELD else field for field in key)
    return _Tables(
        rollup=spec.name,
        rows=_name(rows._meta.db_table),
        totals=_name(totals._meta.db_table),
        rows_table=rows._meta.db_table,
        totals_table=totals._meta.db_table,
        totals_id=None if totals._meta.is_composite_pk else _name(totals._meta.pk.column),
        rows_key=columns(rows, rows_fields),
        rows_metrics=columns(rows, METRIC_FIELDS),
        rows_platform=columns(rows, ("platform",))[0],
        key=columns(totals, key),
        metrics=columns(totals, METRIC_FIELDS),
        row_count=columns(totals, (COUNT_FIELD,))[0],
        month=key.index(MONTH_FIELD) if MONTH_FIELD in key else None,
    )


def _grouped(t: _Tables, table: str, sign: str, vendor: str = "postgresql") -> str:
    """The sums of a table of rows per key of the rollup, times `sign`."""
    rows_keys = t.rows_keys(vendor)
    keys = ", ".join(r if r == k else f"{r} AS {k}" for r, k in zip(rows_keys, t.key, strict=True))
    sums = ", ".join(
        f"{sign}sum(coalesce({r}, 0)) AS {m}"
        for r, m in zip(t.rows_metrics, t.metrics, strict=True)
    )
    return (
        f"SELECT {keys}, {sign}count(*) AS {t.row_count}, {sums} FROM {table} "
        f"WHERE {t.rows_platform} IS NOT NULL GROUP BY {', '.join(rows_keys)}"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _postgres_header(t: _Tables) -> str:
    """The function's start: which table of the rollup to write (and, before migration 0011,
    the sequence of the rollup's ids).

    On PostgreSQL the rollup itself. On Citus the trigger fires on a shard of the rows
    (`referrals_referralrow_102008`) and its SQL runs on that shard's node, where the rollup's
    name is only the coordinator's routing shell: it writes the colocated shard of the rollup,
    the one that covers the same hash range (pg_dist_shard, synced to every node). pg_dist_shard
    is only read there, so the function needs no Citus on plain PostgreSQL.

    Before migration 0011 the rollup had a generated id; a shard has no column defaults, so a
    new total took it from the rollup's identity sequence (Citus gives every node a range).
    """
    sequence = ""
    if t.totals_id is not None:
        serial = f"pg_get_serial_sequence({_literal(t.totals_table)}, {_literal(t.totals_id)})"
        sequence = f"  id_sequence text := {serial};\n"
    return (
        f"\nDECLARE\n  totals text := {_literal(t.totals_table)};\n"
        f"{sequence}BEGIN\n"
        f"  IF TG_TABLE_NAME <> {_literal(t.rows_table)} THEN\n"
        f"    SELECT {_literal(t.totals_table + '_')} || d.shardid INTO STRICT totals\n"
        "    FROM pg_dist_shard d JOIN pg_dist_shard r ON r.shardminvalue = d.shardminvalue\n"
        "    WHERE r.shardid = substring(TG_TABLE_NAME FROM '[0-9]+$')::bigint\n"
        f"      AND d.logicalrelid = {_literal(t.totals_table)}::regclass;\n"
        "  END IF;\n"
    )


def _postgres_bodies(t: _Tables) -> dict[str, str]:
    """The plpgsql body of each trigger function, as pg_proc.prosrc holds it.

    Each statement runs with EXECUTE, the rollup's table name formatted in (`%I`): one SQL
    statement per call, as Citus requires of SQL that runs on a worker.
    """
    target = "%I"
    key, sums = ", ".join(t.key), ", ".join(t.sums)
    if t.totals_id is None:
        upsert, upsert_args = f"INSERT INTO {target} AS d ({key}, {sums}) SELECT * FROM (", ()
    else:
        upsert = (
            f"INSERT INTO {target} AS d ({t.totals_id}, {key}, {sums}) SELECT nextval(%L), * FROM ("
        )
        upsert_args = ("id_sequence",)
    add = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in t.sums)
    conflict = f") AS g ON CONFLICT ({key}) DO UPDATE SET {add}"
    # A join with the distinct keys, not `(key) IN (SELECT key FROM old_rows)`: without
    # statistics on the transition table PostgreSQL rescans it for every emptied group
    # (4.7 s to delete 200,000 rows of 100 groups; 0.6 s with the join).
    # A month is selected under the rollup's name (`AS month`) and matched by it.
    rows_keys = t.rows_keys("postgresql")
    emptied = ", ".join(
        r if r in t.rows_key else f"{r} AS {k}" for r, k in zip(rows_keys, t.key, strict=True)
    )
    matched = [k if r not in t.rows_key else r for r, k in zip(rows_keys, t.key, strict=True)]
    drop_empty = (
        f"DELETE FROM {target} AS d USING (SELECT DISTINCT {emptied} FROM old_rows) AS o "
        f"WHERE d.{t.row_count} = 0 AND "
        + " AND ".join(f"d.{k} = o.{r}" for k, r in zip(t.key, matched, strict=True))
    )
    delta = ", ".join(f"sum({c})" for c in t.sums)
    changed = " OR ".join(f"sum({c}) <> 0" for c in t.sums)
    same = " AND ".join(f"d.{c} = g.{c}" for c in t.key)

    def run(sql: str, *args: str) -> str:
        return f"  EXECUTE format({_literal(sql)}, {', '.join(('totals', *args))});\n"

    header, end = _postgres_header(t), "  RETURN NULL;\nEND "
    return {
        "insert": header
        + run(f"{upsert}{_grouped(t, 'new_rows', '')}{conflict}", *upsert_args)
        + end,
        "update": header
        + run(
            f"{upsert}SELECT {key}, {delta} "
            f"FROM ({_grouped(t, 'new_rows', '')} UNION ALL {_grouped(t, 'old_rows', '-')})"
            f" AS delta GROUP BY {key} HAVING {changed}{conflict}",
            *upsert_args,
        )
        + run(drop_empty)
        + end,
        # Subtracts only (never inserts): a connection's deletion may remove its rollup first.
        "delete": header
        + run(
            f"UPDATE {target} AS d SET "
            + ", ".join(f"{c} = d.{c} + g.{c}" for c in t.sums)
            + f" FROM ({_grouped(t, 'old_rows', '-')}) AS g WHERE {same}"
        )
        + run(drop_empty)
        + end,
    }


_TRANSITION_TABLES = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def _postgres_install(t: _Tables) -> list[str]:
    statements = [
        f"CREATE OR REPLACE FUNCTION {function_name(op, t.rollup)}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $${body}$$"
        for op, body in _postgres_bodies(t).items()
    ]
    statements += [
        f"CREATE OR REPLACE TRIGGER {trigger_name(op, t.rollup)} AFTER {op.upper()} ON {t.rows} "
        f"REFERENCING {_TRANSITION_TABLES[op]} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function_name(op, t.rollup)}()"
        for op in OPERATIONS
    ]
    return statements


def _sqlite_row(t: _Tables, prefix: str, sign: str) -> str:
    """One row's values for the rollup upsert, times `sign`."""
    key, sums = ", ".join(t.key), ", ".join(t.sums)
    values = ", ".join(t.rows_keys("sqlite", f"{prefix}."))
    metrics = ", ".join(f"{sign}coalesce({prefix}.{m}, 0)" for m in t.rows_metrics)
    add = ", ".join(f"{c} = {c} + excluded.{c}" for c in t.sums)  # no table alias in a trigger
    return (
        f"INSERT INTO {t.totals} ({key}, {sums}) SELECT {values}, {sign}1, {metrics} "
        f"WHERE {prefix}.{t.rows_platform} IS NOT NULL ON CONFLICT ({key}) DO UPDATE SET {add};"
    )


def _sqlite_triggers(t: _Tables) -> dict[str, str]:
    """The CREATE TRIGGER statement of each operation, as sqlite_master.sql holds it."""
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in (t.rows_platform, *t.rows_metrics))
    old_keys = t.rows_keys("sqlite", "OLD.")
    old_group = " AND ".join(f"{k} = {r}" for k, r in zip(t.key, old_keys, strict=True))
    drop_empty = f"DELETE FROM {t.totals} WHERE {t.row_count} = 0 AND {old_group};"
    subtract = ", ".join(
        f"{m} = {m} - coalesce(OLD.{r}, 0)" for m, r in zip(t.metrics, t.rows_metrics, strict=True)
    )
    return {
        "insert": f"CREATE TRIGGER {trigger_name('insert', t.rollup)} AFTER INSERT ON {t.rows} "
        f"BEGIN {_sqlite_row(t, 'NEW', '')} END",
        "update": f"CREATE TRIGGER {trigger_name('update', t.rollup)} AFTER UPDATE ON {t.rows} "
        f"WHEN {changed} BEGIN {_sqlite_row(t, 'OLD', '-')} {_sqlite_row(t, 'NEW', '')} "
        f"{drop_empty} END",
        "delete": f"CREATE TRIGGER {trigger_name('delete', t.rollup)} AFTER DELETE ON {t.rows} "
        f"WHEN OLD.{t.rows_platform} IS NOT NULL BEGIN "
        f"UPDATE {t.totals} SET {t.row_count} = {t.row_count} - 1, {subtract} "
        f"WHERE {old_group}; {drop_empty} END",
    }


def _sqlite_installed(db: BaseDatabaseWrapper, names: list[str]) -> dict[str, str]:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
            f"({', '.join(['%s'] * len(names))})",
            names,
        )
        return dict(cursor.fetchall())


def rollups_supported(
    *, db: BaseDatabaseWrapper, rows: type[Model], rollups: Sequence[type[Model]]
) -> list[type[Model]]:
    """The rollups whose triggers the database can hold: both tables exist (migrated that
    far). One introspection query."""
    if db.vendor not in VENDORS:
        return []
    tables = set(db.introspection.table_names())
    return [t for t in rollups if {rows._meta.db_table, t._meta.db_table} <= tables]


def rollup_supported(*, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]) -> bool:
    """Whether the database can hold the triggers and both tables exist (migrated that far)."""
    return bool(rollups_supported(db=db, rows=rows, rollups=[totals]))


def _sqlite_problems(
    db: BaseDatabaseWrapper, ts: list[_Tables], table: str
) -> list[TriggerProblem]:
    installed = _sqlite_installed(db, [trigger_name(op, t.rollup) for t in ts for op in OPERATIONS])
    problems = []
    for t in ts:
        for op, sql in _sqlite_triggers(t).items():
            name = trigger_name(op, t.rollup)
            if name not in installed:
                message = TRIGGER_MISSING.format(trigger=name, table=table)
                problems.append(TriggerProblem(message=message, writes_missed=True))
            elif installed[name] != sql:
                message = TRIGGER_DIFFERS.format(trigger=name)
                problems.append(TriggerProblem(message=message, writes_missed=False))
    return problems


def _postgres_problems(
    db: BaseDatabaseWrapper, ts: list[_Tables], table: str
) -> list[TriggerProblem]:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, p.proname, t.tgenabled IN ('O', 'A') FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass(%s) AND t.tgname = ANY(%s)",
            [table, [trigger_name(op, t.rollup) for t in ts for op in OPERATIONS]],
        )
        triggers = {name: (function, enabled) for name, function, enabled in cursor.fetchall()}
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s) "
            "AND pg_function_is_visible(oid)",
            [[function_name(op, t.rollup) for t in ts for op in OPERATIONS]],
        )
        functions = dict(cursor.fetchall())
    problems = []
    for t in ts:
        for op, body in _postgres_bodies(t).items():
            name, function = trigger_name(op, t.rollup), function_name(op, t.rollup)
            if name not in triggers:
                message = TRIGGER_MISSING.format(trigger=name, table=table)
                problems.append(TriggerProblem(message=message, writes_missed=True))
            elif triggers[name] != (function, True):
                message = TRIGGER_NOT_FIRING.format(trigger=name, table=table)
                problems.append(TriggerProblem(message=message, writes_missed=True))
            if functions.get(function) != body:
                message = FUNCTION_DIFFERS.format(function=function)
                problems.append(TriggerProblem(message=message, writes_missed=False))
    return problems


def rollups_problems(
    *, db: BaseDatabaseWrapper, rows: type[Model], rollups: Sequence[type[Model]]
) -> list[TriggerProblem]:
    """What differs between the installed triggers of these rollups and those their models
    generate, in one or two queries for all of them (readyz runs it on every probe)."""
    if not rollups:
        return []
    find = _postgres_problems if db.vendor == "postgresql" else _sqlite_problems
    return find(db, [_tables(rows, totals) for totals in rollups], rows._meta.db_table)


def rollup_triggers_problems(
    *, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]
) -> list[TriggerProblem]:
    """What differs between the installed triggers and those the given models generate."""
    return rollups_problems(db=db, rows=rows, rollups=[totals])


def _citus_sequential(db: BaseDatabaseWrapper, cursor) -> None:
    """Citus: DDL on the shards (the lock, the triggers) goes over several connections per node
    at once, and a trigger function created or dropped in the same transaction then needs a
    single one: one connection per node for the rest of the transaction."""
    if citus_installed(db=db):
        cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")


def rollup_triggers_install(
    *, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]
) -> None:
    """Create the triggers, or replace those that differ from what the models generate."""
    t = _tables(rows, totals)
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        if db.vendor == "postgresql":
            _citus_sequential(db, cursor)
            for statement in _postgres_install(t):
                cursor.execute(statement)
            return
        installed = _sqlite_installed(db, [trigger_name(op, t.rollup) for op in OPERATIONS])
        for op, sql in _sqlite_triggers(t).items():
            name = trigger_name(op, t.rollup)
            if installed.get(name) == sql:
                continue
            if name in installed:
                cursor.execute(f"DROP TRIGGER {name}")
            cursor.execute(sql)


def rollup_triggers_drop(
    *, db: BaseDatabaseWrapper, rows: type[Model], rollup: str = DAILY
) -> None:
    """Drop a rollup's triggers (and functions), named by the rollup's name."""
    table = _name(rows._meta.db_table)
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        if db.vendor == "postgresql":
            _citus_sequential(db, cursor)
        for op in OPERATIONS:
            on_table = f" ON {table}" if db.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger_name(op, rollup)}{on_table}")
        if db.vendor == "postgresql":
            for op in OPERATIONS:
                cursor.execute(f"DROP FUNCTION IF EXISTS {function_name(op, rollup)}()")


def rollup_lock(*, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]) -> None:
    """Hold off every write to the rows and the rollup until the transaction ends.

    Reads go on. SQLite has one writer at a time: the transaction's first write holds the
    lock until commit (the settings begin transactions IMMEDIATE), and a writer that got in
    first makes ours fail rather than be lost.
    """
    if not db.in_atomic_block:
        raise transaction.TransactionManagementError("rollup_lock needs a transaction")
    if db.vendor == "postgresql":
        t = _tables(rows, totals)
        # Rows first, as a push takes them: no deadlock with a push that holds the rows.
        with db.cursor() as cursor:
            _citus_sequential(db, cursor)
            cursor.execute(f"LOCK TABLE {t.rows}, {t.totals} IN SHARE ROW EXCLUSIVE MODE")


def rollup_fill(*, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]) -> int:
    """Insert the GROUP BY of the rows into the (empty) rollup; returns the totals written.

    In key order: a rollup's reads take ranges of its key (brand, connection, day, ...), and
    a table written in hash-aggregate order scatters each day over every page of the heap
    (the triggers write it day after day, as pushes come)."""
    t = _tables(rows, totals)
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t.totals} ({', '.join(t.key)}, {', '.join(t.sums)}) "
            f"{_grouped(t, t.rows, '', db.vendor)} ORDER BY {', '.join(t.key)}"
        )
        return cursor.rowcount


def rollup_repair(*, db: BaseDatabaseWrapper, rows: type[Model], totals: type[Model]) -> int:
    """Reinstall the triggers and recompute the rollup from the rows, writes held off.

    Needed after writes reached the rows while a trigger was missing. Returns the number of
    totals written.
    """
    with transaction.atomic(using=db.alias):
        rollup_lock(db=db, rows=rows, totals=totals)
        rollup_triggers_install(db=db, rows=rows, totals=totals)
        with db.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_tables(rows, totals).totals}")
        return rollup_fill(db=db, rows=rows, totals=totals)


def rollup_after_migrate(
    *, using: str, apps: Apps = global_apps, verbosity: int = 1, stdout=None, **kwargs
) -> None:
    """post_migrate: reinstall each rollup's triggers from the migrated models where they differ.

    A migration that rebuilds the SQLite table (any AlterField there) drops its triggers, and
    one that renames a column leaves PostgreSQL trigger functions naming the old column. The
    models of `apps` are those of the migrated state, so the SQL names the columns the tables
    have. Missing triggers mean writes may have bypassed a rollup: it is recomputed too.
    """
    try:
        rows = apps.get_model("referrals", "ReferralRow")
    except LookupError:
        return
    db = connections[using]
    for totals in rollup_models(apps):  # none when migrated back to before the rollups
        if not rollup_supported(db=db, rows=rows, totals=totals):
            continue
        problems = rollup_triggers_problems(db=db, rows=rows, totals=totals)
        if not any(problem.writes_missed for problem in problems):
            if problems:
                rollup_triggers_install(db=db, rows=rows, totals=totals)
            continue
        written = rollup_repair(db=db, rows=rows, totals=totals)
        if verbosity >= 1 and stdout is not None:
            name = rollup_spec(totals).name.replace("_", " ")
            stdout.write(REPAIRED_AFTER_MIGRATE.format(totals=written, name=name))
