"""Set-based writes of a push: site-map pages, the row upsert, the dropped-value tally.

PostgreSQL gets one COPY into a temporary table and one INSERT ... ON CONFLICT; SQLite gets
one executemany of INSERT ... ON CONFLICT. Triggers on the referral rows keep the daily rollup
(DailyPlatformTotal) in the same transaction. Rows are written in upsert-key order so that
concurrent pushes lock keys in the same order, and unchanged rows are not rewritten (retries
re-send identical data). Both row kinds (referral rows, agent-traffic rows) go through the
same code, each described by an `UpsertTarget` and a `TallyTarget`.
"""

import functools
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import OperationalError, transaction
from django.db import connection as db

from referrals.allow_list.referrers import referrer_tally_key
from referrals.allow_list.website import page_location
from referrals.models import (
    AgentTrafficRow,
    Connection,
    DroppedReferrer,
    DroppedUserAgent,
    ReferralRow,
    SitemapPage,
    page_key,
    text_key,
)
from referrals.ops import metrics

logger = logging.getLogger(__name__)

RETRY_ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return db.vendor == "sqlite" and "locked" in str(exc)


def with_retries(write: Callable[[], None]) -> None:
    """Run `write` in a transaction; retry deadlocks and serialization failures a few times."""
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                write()
            return
        except OperationalError as exc:
            if attempt == RETRY_ATTEMPTS or not _retryable(exc):
                raise
            logger.warning("push transaction retried (attempt %s): %s", attempt, exc)
            metrics.database_retry(error=exc)
            time.sleep(0.05 * 2**attempt)


def pages_ensure(*, connection: Connection, raw_values: Iterable[str]) -> dict[str, int]:
    """Site-map page id for every raw page value, creating the pages seen for the first time."""
    return website_pages_ensure(
        brand_id=connection.brand_id, website=connection.website, raw_values=raw_values
    )


def website_pages_ensure(
    *, brand_id: int, website: str, raw_values: Iterable[str]
) -> dict[str, int]:
    """pages_ensure for a website of a brand: the push's and the crawl's one site map."""
    keys = {page_key(raw): raw for raw in raw_values}
    ids = _page_ids(brand_id=brand_id, website=website, keys=list(keys))
    missing = [key for key in keys if key not in ids]
    if missing:
        new_pages = []
        for key in missing:
            url, path, depth = page_location(website=website, raw_page_value=keys[key])
            new_pages.append(
                SitemapPage(
                    brand_id=brand_id,
                    website=website,
                    raw_page_value=keys[key],
                    page_key=key,
                    url=url,
                    path=path,
                    depth=depth,
                )
            )
        SitemapPage.objects.bulk_create(new_pages, ignore_conflicts=True, batch_size=1000)
        ids.update(_page_ids(brand_id=brand_id, website=website, keys=missing))
    return {raw: ids[key] for key, raw in keys.items()}


def _page_ids(*, brand_id: int, website: str, keys: list[str]) -> dict[str, int]:
    """Page id by page key, the keys passed as one array parameter: the ORM's `__in` compiles
    one placeholder per key (~100 ms for a push's 2,000 pages, measured)."""
    member = "= ANY(%s)" if db.vendor == "postgresql" else "IN (SELECT value FROM json_each(%s))"
    keys_param = keys if db.vendor == "postgresql" else json.dumps(keys)
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT page_key, id FROM {SitemapPage._meta.db_table} "
            f"WHERE brand_id = %s AND website = %s AND page_key {member}",
            [brand_id, website, keys_param],
        )
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class UpsertTarget:
    """Where and how a row kind is upserted.

    `columns` are the batch's columns with their PostgreSQL types, the upsert key's own
    columns first (`key_length` of them, after brand_id and connection_id); `replaced` are
    those a re-push replaces (compared first, so an unchanged row is not rewritten);
    `record(row, class_id, page_id)` gives a row's values in the order of `columns`.
    """

    table: str
    columns: tuple[tuple[str, str], ...]
    key_length: int
    replaced: tuple[str, ...]
    record: Callable[[tuple, int, int], tuple]

    @property
    def names(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    @property
    def conflict(self) -> str:
        key = [name for name, _ in self.columns[: self.key_length]]
        return ", ".join(["brand_id", "connection_id", *key])


REFERRAL_ROWS = UpsertTarget(
    table=ReferralRow._meta.db_table,
    columns=(
        ("date", "date"),
        ("page_id", "bigint"),
        ("raw_referrer_value", "text"),
        ("raw_page_value", "text"),
        ("platform_id", "bigint"),
        ("pageviews", "bigint"),
        ("sessions", "bigint"),
        ("transactions", "bigint"),
        ("purchase_revenue", "numeric(17, 4)"),
        ("batch_id", "text"),
    ),
    key_length=3,
    replaced=(
        "platform_id",
        "pageviews",
        "sessions",
        "transactions",
        "purchase_revenue",
        "batch_id",
    ),
    record=lambda row, platform_id, page_id: (
        row.date,
        page_id,
        row.raw_referrer_value,
        row.raw_page_value,
        platform_id,
        row.pageviews,
        row.sessions,
        row.transactions,
        row.purchase_revenue,
        row.batch_id,
    ),
)
# A day of logs repeats few distinct user agents: hash each once per process (bounded).
_user_agent_key = functools.lru_cache(maxsize=65536)(text_key)

AGENT_ROWS = UpsertTarget(
    table=AgentTrafficRow._meta.db_table,
    columns=(
        ("date", "date"),
        ("page_id", "bigint"),
        ("user_agent_key", "text"),
        ("raw_user_agent", "text"),
        ("raw_page_value", "text"),
        ("agent_id", "bigint"),
        ("hits", "bigint"),
        ("verified", "boolean"),
        ("batch_id", "text"),
    ),
    key_length=3,
    replaced=("agent_id", "hits", "verified", "batch_id"),
    record=lambda row, agent_id, page_id: (
        row.date,
        page_id,
        _user_agent_key(row.raw_user_agent),
        row.raw_user_agent,
        row.raw_page_value,
        agent_id,
        row.hits,
        row.verified,
        row.batch_id,
    ),
)


def rows_upsert(
    *, connection: Connection, rows: list[tuple], now, target: UpsertTarget = REFERRAL_ROWS
) -> None:
    """Insert or replace every (row, class id) of the batch (the caller holds the transaction)."""
    if not rows:
        return
    raw_pages = {row.raw_page_value for row, _ in rows}
    page_ids = pages_ensure(connection=connection, raw_values=raw_pages)
    record = target.record
    key_length = target.key_length
    records = sorted(
        (record(row, class_id, page_ids[row.raw_page_value]) for row, class_id in rows),
        key=lambda values: values[:key_length],
    )
    if db.vendor == "postgresql":
        _upsert_postgresql(target, connection, records, now)
    else:
        _upsert_portable(target, connection, records, now)


def _assignments(target: UpsertTarget) -> str:
    return (
        ", ".join(f"{c} = excluded.{c}" for c in target.replaced)
        + ", updated_at = excluded.updated_at"
    )


def _upsert_postgresql(target: UpsertTarget, connection: Connection, records, now) -> None:
    changed = " OR ".join(f"r.{c} IS DISTINCT FROM excluded.{c}" for c in target.replaced)
    columns = target.names
    # A name of its own: pushes nested in one outer transaction must not see each other's rows.
    temp = f"push_rows_{uuid.uuid4().hex[:16]}"
    with db.cursor() as cursor:
        definition = ", ".join(f"{name} {type_}" for name, type_ in target.columns)
        cursor.execute(f"CREATE TEMP TABLE {temp} ({definition}) ON COMMIT DROP")
        # The raw psycopg cursor bypasses Django's error wrapping: restore it, so that a lost
        # connection is Django's OperationalError (a retry, or a 503), not a bare psycopg error.
        copy_sql = f"COPY {temp} ({columns}) FROM STDIN"
        with db.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for values in records:
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {target.table} AS r (connection_id, brand_id, updated_at, {columns}) "
            f"SELECT %s, %s, %s, {columns} FROM {temp} "
            f"ON CONFLICT ({target.conflict}) "
            f"DO UPDATE SET {_assignments(target)} WHERE {changed}",
            [connection.pk, connection.brand_id, now],
        )


def _adapter(type_: str) -> Callable | None:
    """How the portable path adapts a column's values (dates and decimals), if at all."""
    ops = db.ops
    if type_ == "date":
        return ops.adapt_datefield_value
    if type_.startswith("numeric"):
        digits, places = (int(n) for n in type_[8:-1].split(","))
        return lambda value: ops.adapt_decimalfield_value(value, digits, places)
    return None


def _upsert_portable(target: UpsertTarget, connection: Connection, records, now) -> None:
    table = target.table
    changed = " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in target.replaced)
    placeholders = ", ".join(["%s"] * (3 + len(target.columns)))
    sql = (
        f"INSERT INTO {table} (connection_id, brand_id, updated_at, {target.names}) "
        f"VALUES ({placeholders}) "
        f"ON CONFLICT ({target.conflict}) "
        f"DO UPDATE SET {_assignments(target)} WHERE {changed}"
    )
    stamp = db.ops.adapt_datetimefield_value(now)
    adapted = [(i, _adapter(type_)) for i, (_, type_) in enumerate(target.columns)]
    adapted = [(i, adapt) for i, adapt in adapted if adapt is not None]
    params = []
    for record in records:
        values = [connection.pk, connection.brand_id, stamp, *record]
        for i, adapt in adapted:
            values[3 + i] = adapt(values[3 + i])
        params.append(values)
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


@dataclass(frozen=True)
class TallyTarget:
    """Where a row kind counts the raw values it dropped: `key` is the unique column (the raw
    value itself, or its SHA-256 for long values), `raw` the value's column, and `fold` what a
    raw value is counted under (None: as sent)."""

    table: str
    raw: str
    key: str | None = None
    fold: Callable[[str], str] | None = None


# Referrers are counted by host and path (referrer_tally_key), so queries that vary cannot grow
# the tally; user agents as sent (their versions are few).
DROPPED_REFERRERS = TallyTarget(
    table=DroppedReferrer._meta.db_table, raw="raw_referrer_value", fold=referrer_tally_key
)
DROPPED_USER_AGENTS = TallyTarget(
    table=DroppedUserAgent._meta.db_table, raw="raw_user_agent", key="user_agent_key"
)


def dropped_tally(
    *, connection: Connection, dropped: Counter, now, target: TallyTarget = DROPPED_REFERRERS
) -> None:
    """Count the raw values that matched nothing, so admins can grow the lists."""
    if not dropped:
        return
    tally: Counter = Counter()
    for raw_value, count in dropped.items():
        tally[target.fold(raw_value) if target.fold else raw_value] += count
    stamp = db.ops.adapt_datetimefield_value(now)
    table, raw = target.table, target.raw
    key = target.key or raw
    columns = f"{raw}, {target.key}" if target.key else raw
    values = [
        (raw_value, text_key(raw_value)) if target.key else (raw_value,)
        for raw_value in sorted(tally)
    ]
    placeholders = ", ".join(["%s"] * (len(values[0]) + 5))
    with db.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (brand_id, connection_id, count, first_seen_at, last_seen_at, "
            f"{columns}) VALUES ({placeholders}) "
            f"ON CONFLICT (brand_id, connection_id, {key}) DO UPDATE SET "
            f"count = {table}.count + excluded.count, last_seen_at = excluded.last_seen_at",
            [
                (connection.brand_id, connection.pk, tally[value[0]], stamp, stamp, *value)
                for value in values
            ],
        )


def dropped_referrers_tally(*, connection: Connection, dropped: Counter, now) -> None:
    """Count the referrers that matched no platform, by host and path (referrer_tally_key)."""
    dropped_tally(connection=connection, dropped=dropped, now=now, target=DROPPED_REFERRERS)
