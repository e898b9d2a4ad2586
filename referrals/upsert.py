"""Set-based writes of a push: site-map pages, the row upsert, the dropped-referrer tally.

The batch is staged in a temporary table (one COPY on PostgreSQL, one executemany on SQLite),
applied to the daily rollup, and merged with one INSERT ... SELECT ... ON CONFLICT. Rows are
written in upsert-key order so that concurrent pushes lock keys in the same order, and
unchanged rows are not rewritten (retries re-send identical data).
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import OperationalError, transaction
from django.db import connection as db

from .events import Row
from .models import Connection, DroppedReferrer, ReferralRow, SitemapPage, page_key
from .normalization import page_location
from .rollup import daily_totals_apply

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
    _rows_merge(connection, records, now)


_COLUMNS = (
    "date, page_id, raw_referrer_value, raw_page_value, platform_id, pageviews, sessions, "
    "transactions, purchase_revenue, batch_id"
)
_SET = ", ".join(f"{c} = excluded.{c}" for c in _METRICS) + ", updated_at = excluded.updated_at"


def _rows_merge(connection: Connection, records: list[tuple], now) -> None:
    """Stage the batch in a temporary table, apply it to the daily rollup, merge it into the rows.

    PostgreSQL stages with one COPY, SQLite with one executemany; the merge is one
    INSERT ... SELECT ... ON CONFLICT on both, which skips rows whose values did not change.
    """
    # A name of its own: pushes nested in one outer transaction must not see each other's rows.
    staged = f"push_rows_{uuid.uuid4().hex[:16]}"
    postgres = db.vendor == "postgresql"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    changed = " OR ".join(f"{_ROWS}.{c} {distinct} excluded.{c}" for c in _METRICS)
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {staged} (date date, page_id bigint, raw_referrer_value text, "
            "raw_page_value text, platform_id bigint, pageviews bigint, sessions bigint, "
            "transactions bigint, purchase_revenue decimal(17, 4), batch_id text)"
            + (" ON COMMIT DROP" if postgres else "")
        )
        if postgres:
            with cursor.cursor.copy(f"COPY {staged} ({_COLUMNS}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record)
        else:
            ops = db.ops
            cursor.executemany(
                f"INSERT INTO {staged} ({_COLUMNS}) VALUES ({', '.join(['%s'] * 10)})",
                [
                    (
                        ops.adapt_datefield_value(r[0]),
                        *r[1:8],
                        ops.adapt_decimalfield_value(r[8], 17, 4),
                        r[9],
                    )
                    for r in records
                ],
            )
        daily_totals_apply(cursor=cursor, staged=staged, connection_id=connection.pk)
        # WHERE true: SQLite needs it to tell the upsert's ON from a join's ON.
        cursor.execute(
            f"INSERT INTO {_ROWS} (connection_id, brand_id, updated_at, {_COLUMNS}) "
            f"SELECT %s, %s, %s, {_COLUMNS} FROM {staged} WHERE true "
            f"ON CONFLICT (connection_id, date, page_id, raw_referrer_value) "
            f"DO UPDATE SET {_SET} WHERE {changed}",
            [connection.pk, connection.brand_id, db.ops.adapt_datetimefield_value(now)],
        )
        if not postgres:
            cursor.execute(f"DROP TABLE {staged}")


def dropped_referrers_tally(*, connection: Connection, dropped: Counter, now) -> None:
    """Count the referrers that matched no platform, so admins can grow the allow-list."""
    if not dropped:
        return
    stamp = db.ops.adapt_datetimefield_value(now)
    with db.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_DROPPED} (connection_id, raw_referrer_value, count, first_seen_at, "
            f"last_seen_at) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT (connection_id, raw_referrer_value) DO UPDATE SET "
            f"count = {_DROPPED}.count + excluded.count, last_seen_at = excluded.last_seen_at",
            [(connection.pk, raw, count, stamp, stamp) for raw, count in sorted(dropped.items())],
        )
