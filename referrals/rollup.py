"""The daily rollup (DailyPlatformTotal): kept equal to a GROUP BY of the counted rows.

A push applies its batch's deltas inside its own transaction, before the rows are merged:
the new values of the batch's keys minus the values stored under those keys, grouped by
(day, platform). The push holds its connection's row lock, so no other push of the same
connection moves those values in between. Unchanged rows cancel out, so a retried batch
writes nothing here. A full rebuild (renormalize_referrers, the migration) recomputes the
sums from the rows.
"""

from collections.abc import Iterable

from django.db import connection as db

from .models import DailyPlatformTotal, ReferralRow

_DAILY = DailyPlatformTotal._meta.db_table
_ROWS = ReferralRow._meta.db_table
_SUMS = ("row_count", "pageviews", "sessions", "transactions", "purchase_revenue")
_ADD = ", ".join(f"{c} = {_DAILY}.{c} + excluded.{c}" for c in _SUMS)


def daily_totals_apply(*, cursor, staged: str, connection_id: str) -> None:
    """Add the batch staged in the temporary table `staged` to the connection's daily sums.

    Must run before the batch is merged into the rows: it reads the values it replaces.
    """
    metrics = ("pageviews", "sessions", "transactions", "purchase_revenue")
    new = ", ".join(f"COALESCE(t.{m}, 0) AS {m}" for m in metrics)
    old = ", ".join(f"-COALESCE(r.{m}, 0)" for m in metrics)
    sums = ", ".join(f"SUM({c})" for c in _SUMS)
    nonzero = " OR ".join(f"SUM({c}) <> 0" for c in _SUMS)
    # WHERE true: SQLite needs it to tell the upsert's ON from a join's ON.
    cursor.execute(
        f"INSERT INTO {_DAILY} (connection_id, date, platform_id, {', '.join(_SUMS)}) "
        f"SELECT %s, date, platform_id, {sums} FROM ("
        f"  SELECT t.date, t.platform_id, 1 AS row_count, {new} FROM {staged} t"
        f"  WHERE t.platform_id IS NOT NULL"
        f"  UNION ALL"
        f"  SELECT r.date, r.platform_id, -1, {old} FROM {staged} t JOIN {_ROWS} r"
        f"  ON r.connection_id = %s AND r.date = t.date AND r.page_id = t.page_id"
        f"  AND r.raw_referrer_value = t.raw_referrer_value WHERE r.platform_id IS NOT NULL"
        f") AS delta WHERE true GROUP BY date, platform_id HAVING {nonzero} "
        f"ON CONFLICT (connection_id, date, platform_id) DO UPDATE SET {_ADD}",
        [connection_id, connection_id],
    )
    if cursor.rowcount:
        # A (day, platform) whose rows all moved to another platform is no longer a group.
        cursor.execute(
            f"DELETE FROM {_DAILY} WHERE connection_id = %s AND row_count = 0", [connection_id]
        )


def daily_totals_rebuild(*, connection_ids: Iterable[str] | None = None) -> None:
    """Recompute the daily sums from the rows: of the given connections, or of all."""
    if connection_ids is not None:
        connection_ids = sorted(connection_ids)
        if not connection_ids:
            return
    scope, params = "", []
    if connection_ids is not None:
        scope = f" AND connection_id IN ({', '.join(['%s'] * len(connection_ids))})"
        params = connection_ids
    sums = ", ".join(f"SUM(COALESCE({m}, 0))" for m in _SUMS[1:])
    with db.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_DAILY} WHERE true{scope}", params)
        cursor.execute(
            f"INSERT INTO {_DAILY} (connection_id, date, platform_id, {', '.join(_SUMS)}) "
            f"SELECT connection_id, date, platform_id, COUNT(*), {sums} FROM {_ROWS} "
            f"WHERE platform_id IS NOT NULL{scope} GROUP BY connection_id, date, platform_id",
            params,
        )
