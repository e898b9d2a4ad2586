"""Set-based writes of a push: site-map pages, the row upsert, the dropped-referrer tally.

PostgreSQL gets one COPY into a temporary table and one INSERT ... ON CONFLICT; SQLite gets
one executemany of INSERT ... ON CONFLICT. Triggers on the rows keep the daily rollup
(DailyPlatformTotal) in the same transaction. Rows are written in upsert-key order so that
concurrent pushes lock keys in the same order, and unchanged rows are not rewritten (retries
re-send identical data).
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import OperationalError, transaction
from django.db import connection as db

from referrals.allow_list.referrers import referrer_tally_key
from referrals.allow_list.website import page_location
from referrals.ingest.schema import Row
from referrals.models import (
    Connection,
    DroppedReferrer,
    ReferralRow,
    SitemapPage,
    page_key,
)
from referrals.ops import metrics

logger = logging.getLogger(__name__)

RETRY_ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected

_ROWS = ReferralRow._meta.db_table
_DROPPED = DroppedReferrer._meta.db_table
_METRICS = ("platform_id", "pageviews", "sessions", "transactions", "purchase_revenue", "batch_id")


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
    keys = {page_key(raw): raw for raw in raw_values}
    scope = SitemapPage.objects.filter(brand_id=connection.brand_id, website=connection.website)
    ids = dict(scope.filter(page_key__in=list(keys)).values_list("page_key", "id"))
    missing = [key for key in keys if key not in ids]
    if missing:
        new_pages = []
        for key in missing:
            url, path, depth = page_location(website=connection.website, raw_page_value=keys[key])
            new_pages.append(
                SitemapPage(
                    brand_id=connection.brand_id,
                    website=connection.website,
                    raw_page_value=keys[key],
                    page_key=key,
                    url=url,
                    path=path,
                    depth=depth,
                )
            )
        SitemapPage.objects.bulk_create(new_pages, ignore_conflicts=True, batch_size=1000)
        ids.update(scope.filter(page_key__in=missing).values_list("page_key", "id"))
    return {raw: ids[key] for key, raw in keys.items()}


def rows_upsert(*, connection: Connection, rows: list[tuple[Row, int]], now) -> None:
    """Insert or replace every row of the batch (the caller holds the transaction)."""
    if not rows:
        return
    raw_pages = {row.raw_page_value for row, _ in rows}
    page_ids = pages_ensure(connection=connection, raw_values=raw_pages)
    records = sorted(
        (
            (
                row.date,
                page_ids[row.raw_page_value],
                row.raw_referrer_value,
                row.raw_page_value,
                platform_id,
                row.pageviews,
                row.sessions,
                row.transactions,
                row.purchase_revenue,
                row.batch_id,
            )
            for row, platform_id in rows
        ),
        key=lambda record: record[:3],
    )
    if db.vendor == "postgresql":
        _upsert_postgresql(connection, records, now)
    else:
        _upsert_portable(connection, records, now)


_COLUMNS = (
    "date, page_id, raw_referrer_value, raw_page_value, platform_id, pageviews, sessions, "
    "transactions, purchase_revenue, batch_id"
)
_SET = ", ".join(f"{c} = excluded.{c}" for c in _METRICS) + ", updated_at = excluded.updated_at"


def _upsert_postgresql(connection: Connection, records: list[tuple], now) -> None:
    changed = " OR ".join(f"r.{c} IS DISTINCT FROM excluded.{c}" for c in _METRICS)
    # A name of its own: pushes nested in one outer transaction must not see each other's rows.
    temp = f"push_rows_{uuid.uuid4().hex[:16]}"
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {temp} (date date, page_id bigint, raw_referrer_value text, "
            "raw_page_value text, platform_id bigint, pageviews bigint, sessions bigint, "
            "transactions bigint, purchase_revenue numeric(17, 4), batch_id text) ON COMMIT DROP"
        )
        # The raw psycopg cursor bypasses Django's error wrapping: restore it, so that a lost
        # connection is Django's OperationalError (a retry, or a 503), not a bare psycopg error.
        copy_sql = f"COPY {temp} ({_COLUMNS}) FROM STDIN"
        with db.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for record in records:
                copy.write_row(record)
        cursor.execute(
            f"INSERT INTO {_ROWS} AS r (connection_id, brand_id, updated_at, {_COLUMNS}) "
            f"SELECT %s, %s, %s, {_COLUMNS} FROM {temp} "
            f"ON CONFLICT (brand_id, connection_id, date, page_id, raw_referrer_value) "
            f"DO UPDATE SET {_SET} WHERE {changed}",
            [connection.pk, connection.brand_id, now],
        )


def _upsert_portable(connection: Connection, records: list[tuple], now) -> None:
    changed = " OR ".join(f"{_ROWS}.{c} IS NOT excluded.{c}" for c in _METRICS)
    placeholders = ", ".join(["%s"] * 13)
    sql = (
        f"INSERT INTO {_ROWS} (connection_id, brand_id, updated_at, {_COLUMNS}) "
        f"VALUES ({placeholders}) "
        f"ON CONFLICT (brand_id, connection_id, date, page_id, raw_referrer_value) "
        f"DO UPDATE SET {_SET} WHERE {changed}"
    )
    ops = db.ops
    stamp = ops.adapt_datetimefield_value(now)
    params = [
        (
            connection.pk,
            connection.brand_id,
            stamp,
            ops.adapt_datefield_value(r[0]),
            *r[1:8],
            ops.adapt_decimalfield_value(r[8], 17, 4),
            r[9],
        )
        for r in records
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def dropped_referrers_tally(*, connection: Connection, dropped: Counter, now) -> None:
    """Count the referrers that matched no platform, so admins can grow the allow-list.

    Counted by host and path (referrer_tally_key), so queries that vary cannot grow the tally.
    """
    if not dropped:
        return
    tally: Counter = Counter()
    for raw, count in dropped.items():
        tally[referrer_tally_key(raw)] += count
    stamp = db.ops.adapt_datetimefield_value(now)
    with db.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_DROPPED} (brand_id, connection_id, raw_referrer_value, count, "
            f"first_seen_at, last_seen_at) VALUES (%s, %s, %s, %s, %s, %s) "
            f"ON CONFLICT (brand_id, connection_id, raw_referrer_value) DO UPDATE SET "
            f"count = {_DROPPED}.count + excluded.count, last_seen_at = excluded.last_seen_at",
            [
                (connection.brand_id, connection.pk, raw, count, stamp, stamp)
                for raw, count in sorted(tally.items())
            ],
        )
