"""Page sums of a window from the monthly page rollup plus (or minus) some days of rows.

A page ranking needs every page's sums over the window. Summing the rows of a year took
~1-1.4 s over 5M rows; the rollup (MonthlyPageTotal, kept exact by the rows' triggers) holds
one entry per page per month. A window is read as the months it covers, from the rollup, and
the days of its partial months from the rows: the days inside a month mostly outside the
window, or the month minus the days outside it when the month is mostly inside, so at most
half a month of rows is read at either end. (A daily page rollup served those days until
migration 0017: it cost a push as much as the push's own rows.)

The sitemap export's sums per page and platform (page_platform_sums) read the window's rows:
the rollup has no platform split.
"""

import calendar
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Context, Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection as default_db
from django.db.models import QuerySet

from referrals.models import Connection, MonthlyPageTotal, ReferralRow
from referrals.reporting.window import Window

DayRange = tuple[date, date]
# The rollups' sums by the names the reads sort by (dashboard sorts, the sitemap's sessions).
SUM_COLUMNS = {
    "sessions": "sessions",
    "pageviews": "pageviews",
    "transactions": "transactions",
    "revenue": "purchase_revenue",
}


@dataclass(frozen=True)
class WindowParts:
    """A window as whole months (`months`, first days, inclusive) plus the days of `plus`
    minus the days of `minus` (inclusive ranges)."""

    months: DayRange | None
    plus: list[DayRange] = field(default_factory=list)
    minus: list[DayRange] = field(default_factory=list)


def page_ids_sql(pages: QuerySet) -> tuple[str, list]:
    """SQL and params selecting the ids of `pages`, the `pages` argument of the functions
    below. An empty queryset (`.none()`: a filter no page can match), which Django refuses to
    compile (EmptyResultSet), selects no id."""
    try:
        return pages.order_by().values_list("pk").query.sql_with_params()
    except EmptyResultSet:
        return "SELECT 0 WHERE 1 = 0", []  # an integer column, as page_id is


def _month_last(first: date) -> date:
    # monthrange, not "the 1st of next month minus a day": December 9999 has no next month.
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _merged(ranges: list[DayRange]) -> list[DayRange]:
    """Adjacent ranges as one (the end of a month and the start of the next)."""
    merged: list[DayRange] = []
    for start, end in ranges:
        if merged and merged[-1][1] + timedelta(days=1) == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def window_parts(window: Window) -> WindowParts:
    """Whole months, days to add and days to take away, whose sum is the window's."""
    months: list[date] = []
    plus: list[DayRange] = []
    minus: list[DayRange] = []
    month = window.start.replace(day=1)
    while month <= window.end:
        last = _month_last(month)
        first_in, last_in = max(month, window.start), min(last, window.end)
        inside = (last_in - first_in).days + 1
        if inside * 2 <= (last - month).days + 1:
            plus.append((first_in, last_in))
        else:
            months.append(month)
            if first_in > month:
                minus.append((month, first_in - timedelta(days=1)))
            if last_in < last:
                minus.append((last_in + timedelta(days=1), last))
        if last >= window.end:
            break  # (the day after date.max does not exist)
        month = last + timedelta(days=1)
    return WindowParts(
        months=(months[0], months[-1]) if months else None,
        plus=_merged(plus),
        minus=_merged(minus),
    )


def page_sums_sql(
    *,
    connection: Connection,
    window: Window,
    sums: Sequence[str],
    pages: tuple[str, list] | None = None,
) -> tuple[str, list]:
    """SQL of (brand_id, page_id, row_count, *sums) per page with counted rows in the window.

    Every part filters on the brand (its shard on Citus) and the connection, and reads a range
    of the rollup's primary key or of the rows' (brand, connection, date) index. `sums` are
    keys of SUM_COLUMNS, selected under those names. `pages` (SQL and params selecting page
    ids) keeps those pages in every part, before the sums are grouped.
    """
    parts = window_parts(window)
    names = ["row_count", *sums]
    scope = [connection.brand_id, connection.pk]
    kept, kept_params = (f" AND page_id IN ({pages[0]})", list(pages[1])) if pages else ("", [])

    def part(table: str, day: str, selected: list[str], counted: str = "") -> str:
        columns = ", ".join(f"{c} AS {n}" for c, n in zip(selected, names, strict=True))
        return (
            f"SELECT brand_id, page_id, {columns} FROM {table} "
            f"WHERE brand_id = %s AND connection_id = %s AND {day} BETWEEN %s AND %s"
            f"{counted}{kept}"
        )

    selects, params = [], []
    if parts.months:
        rollup = ["row_count", *(SUM_COLUMNS[name] for name in sums)]
        selects.append(part(MonthlyPageTotal._meta.db_table, "month", rollup))
        params += [*scope, *parts.months, *kept_params]
    # A row counts once its referrer maps to a platform, as in the rollups.
    counted = " AND platform_id IS NOT NULL"
    for ranges, sign in ((parts.plus, ""), (parts.minus, "-")):
        rows = [f"{sign}1", *(f"{sign}coalesce({SUM_COLUMNS[name]}, 0)" for name in sums)]
        for days in ranges:
            selects.append(part(ReferralRow._meta.db_table, "date", rows, counted))
            params += [*scope, *days, *kept_params]
    totals = ", ".join(f"sum({n}) AS {n}" for n in names)
    sql = (
        f"SELECT brand_id, page_id, {totals} FROM ({' UNION ALL '.join(selects)}) AS parts "
        "GROUP BY brand_id, page_id HAVING sum(row_count) > 0"
    )
    return sql, params


def page_ranking(
    *,
    connection: Connection,
    window: Window,
    sort: str,
    offset: int,
    limit: int,
    pages: tuple[str, list] | None = None,
) -> tuple[list[int], int]:
    """The ids of a slice of the pages with counted rows in the window, most `sort` first
    (then by id), and how many such pages there are (0 when the slice is past the end).

    `pages` (SQL and params selecting page ids) keeps only those pages.
    """
    sums, params = page_sums_sql(connection=connection, window=window, sums=[sort], pages=pages)
    sql = (
        f"WITH sums AS ({sums}) SELECT page_id, count(*) OVER () FROM sums "
        f"ORDER BY {sort} DESC, page_id LIMIT %s OFFSET %s"
    )
    with default_db.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        found = cursor.fetchall()
    return [page_id for page_id, _ in found], (found[0][1] if found else 0)


def pages_totals(*, connection: Connection, window: Window, pages: tuple[str, list]) -> tuple:
    """The summed sessions, pageviews, transactions and revenue of `pages` (SQL selecting page
    ids) in the window: their entries of the page rollup plus the partial months' rows."""
    names = ["sessions", "pageviews", "transactions", "revenue"]
    sums, params = page_sums_sql(connection=connection, window=window, sums=names, pages=pages)
    totals = ", ".join(f"coalesce(sum({name}), 0)" for name in names)
    with default_db.cursor() as cursor:
        cursor.execute(f"SELECT {totals} FROM ({sums}) AS sums", params)
        return cursor.fetchone()


def page_count(*, connection: Connection, window: Window, pages: tuple[str, list] | None = None):
    """How many pages have counted rows in the window (among `pages`, when given)."""
    sums, params = page_sums_sql(connection=connection, window=window, sums=[], pages=pages)
    with default_db.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sums}) AS sums", params)
        return cursor.fetchone()[0]


def pages_by_sessions(
    *,
    connection: Connection,
    window: Window,
    pages: tuple[str, list],
    offset: int = 0,
    limit: int | None = None,
) -> list[int]:
    """The ids of `pages` (SQL selecting id, brand_id, url), most AI sessions in the window
    first, then by url (code point) and id; a page without counted rows has 0 sessions."""
    sums, params = page_sums_sql(connection=connection, window=window, sums=["sessions"])
    collate = ' COLLATE "C"' if default_db.vendor == "postgresql" else ""
    sql = (
        f"WITH sums AS ({sums}) SELECT p.id FROM ({pages[0]}) AS p "
        "LEFT JOIN sums AS s ON s.brand_id = p.brand_id AND s.page_id = p.id "
        f"ORDER BY coalesce(s.sessions, 0) DESC, p.url{collate}, p.id"
    )
    params = [*params, *pages[1]]
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params += [limit, offset]
    with default_db.cursor() as cursor:
        cursor.execute(sql, params)
        return [page_id for (page_id,) in cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class PageSplit:
    """A page's sums over a window, its AI sessions per platform id, and those of the first
    and last bucket of the window (the export's change)."""

    sessions: int
    pageviews: int
    transactions: int
    revenue: Decimal
    first_sessions: int
    last_sessions: int
    platform_sessions: dict[int, int]


# SQLite sums a decimal column as a float: made a Decimal as Django makes a computed one.
_FLOAT_DECIMAL = Context(prec=15).create_decimal_from_float
# The platform split as a JSON object per page: {platform id: sessions}.
_SPLIT_AGGREGATE = {"postgresql": "json_object_agg", "sqlite": "json_group_object"}


def page_platform_sums(
    *,
    connection: Connection,
    window: Window,
    pages: tuple[str, list],
    first: DayRange,
    last: DayRange,
) -> dict[int, PageSplit]:
    """Sums of each of `pages` (SQL selecting page ids) with counted rows in the window, with
    its sessions per platform and in the `first` and `last` day ranges: one query, one result
    row per page.

    The rows are grouped by (page, platform) and then by page in the database: the export's
    10,000 pages have ~150,000 (page, platform) groups, and reading them one by one into
    Python took longer than summing them.
    """
    split = _SPLIT_AGGREGATE[default_db.vendor]
    sessions = "coalesce(sessions, 0)"
    sql = (
        "SELECT page_id, sum(sessions), sum(pageviews), sum(transactions), sum(revenue), "
        f"sum(first_sessions), sum(last_sessions), {split}(CAST(platform_id AS text), sessions) "
        "FROM ("
        f"SELECT page_id, platform_id, sum({sessions}) AS sessions, "
        "sum(coalesce(pageviews, 0)) AS pageviews, "
        "sum(coalesce(transactions, 0)) AS transactions, "
        "sum(coalesce(purchase_revenue, 0)) AS revenue, "
        f"sum(CASE WHEN date BETWEEN %s AND %s THEN {sessions} ELSE 0 END) AS first_sessions, "
        f"sum(CASE WHEN date BETWEEN %s AND %s THEN {sessions} ELSE 0 END) AS last_sessions "
        f"FROM {ReferralRow._meta.db_table} "
        "WHERE brand_id = %s AND connection_id = %s AND platform_id IS NOT NULL "
        f"AND date BETWEEN %s AND %s AND page_id IN ({pages[0]}) "
        "GROUP BY page_id, platform_id) AS page_platforms GROUP BY page_id"
    )
    params = [*first, *last, connection.brand_id, connection.pk, window.start, window.end]
    with default_db.cursor() as cursor:
        cursor.execute(sql, [*params, *pages[1]])
        found = cursor.fetchall()
    return {
        page_id: PageSplit(
            int(sessions),
            int(pageviews),
            int(transactions),
            _FLOAT_DECIMAL(revenue) if isinstance(revenue, float) else Decimal(revenue),
            int(first_n),
            int(last_n),
            {
                int(platform_id): int(n)
                for platform_id, n in (json.loads(by) if isinstance(by, str) else by).items()
            },
        )
        for page_id, sessions, pageviews, transactions, revenue, first_n, last_n, by in found
    }
