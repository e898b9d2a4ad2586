"""Reads for the AI Traffic dashboard: a handful of set-based queries per page view.

Reads follow the website's active connection (referrals.reporting.rows says which rows count,
referrals.reporting.totals how they sum). KPIs and the daily chart read the daily rollup
(DailyPlatformTotal, ~15 rows a day); the landing pages are ranked from the monthly page
rollup (referrals.reporting.pages), and only the pages shown read their rows (by page and date).

Exploring filters (Filters): a platform narrows the daily rollup to its rows; page filters
(path prefix, priority) are a brand-scoped subquery of page ids (the Sitemap API's filters):
the KPIs and chart of those pages read their rows (by page and date: the page rollup has no
days and no platform split), their ranking and previous period's totals the page rollup. A
ranking by one platform reads the rows of that platform (through their (brand, connection,
platform, date) index).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection as db
from django.db.models import Count, Max, QuerySet
from django.db.models import Window as Over

from referrals.models import (
    AIPlatform,
    Brand,
    Connection,
    DroppedReferrer,
    PushLog,
    SitemapPage,
    WebsiteCrawl,
)
from referrals.reporting.pages import page_count, page_ids_sql, page_ranking, pages_totals
from referrals.reporting.rows import daily_counted, rows_counted
from referrals.reporting.totals import METRIC_SUMS, Totals
from referrals.reporting.window import Window
from referrals.sitemap.priority import priority_rules
from referrals.sitemap.selectors import PageFilters, Site, sitemap_pages_filtered

SORT_FIELDS = ("sessions", "pageviews", "transactions", "revenue")
# From this many days on, a section's totals are cheaper from the page rollup than from its
# pages' rows: the rollup's partial months read up to half a month of every page's rows each
# (5M rows, /section-3: 28 days 10 ms from the rows, 22 from the rollup; 90 days 23 and 13-23;
# 365 days 92-98 and 30-31).
ROLLUP_TOTALS_DAYS = 90
RECENT_PUSHES = 10
TOP_DROPPED_REFERRERS = 10
EXPORT_CHUNK_SIZE = 2000


def path_sections(path: str) -> list[tuple[str, str]]:
    """(segment, prefix) of every parent section of a path: `/a/b/c` -> (a, /a), (b, /a/b)."""
    segments = [s for s in path.split("/") if s][:-1] if path.startswith("/") else []
    return [(seg, "/" + "/".join(segments[: i + 1])) for i, seg in enumerate(segments)]


@dataclass(frozen=True)
class Filters:
    """The exploring filters of a view, as the reads apply them.

    `pages` selects the ids of the pages kept (brand-scoped), None for every page.
    """

    platform_id: int | None = None
    pages: QuerySet | None = None


NO_FILTERS = Filters()


def dashboard_platforms() -> dict[str, tuple[int, str]]:
    """Every AI platform's slug with its id and name (a small reference table)."""
    return {
        slug: (pk, name) for slug, pk, name in AIPlatform.objects.values_list("slug", "id", "name")
    }


def dashboard_filters(
    *,
    brand_id: int,
    website: str,
    platform_id: int | None,
    path_prefix: str | None,
    priority: bool,
) -> Filters:
    """The view's filters over a website of the brand: the Sitemap API's page filters."""
    pages = None
    if path_prefix or priority:
        rules = priority_rules(brand_id=brand_id, website=website) if priority else []
        site = Site(brand_id=brand_id, website=website, connection=None, priority_rules=rules)
        filters = PageFilters(path_prefix=path_prefix, is_priority=True if priority else None)
        pages = sitemap_pages_filtered(site=site, filters=filters).order_by().values("pk")
    return Filters(platform_id=platform_id, pages=pages)


def filters_apply(rows: QuerySet, filters: Filters, *, platform: str = "platform_id") -> QuerySet:
    """Rows (with a page) of the filters' pages and platform (`platform`: the lookup of the
    rows' platform id; an agent row's platform is its agent's)."""
    if filters.platform_id is not None:
        rows = rows.filter(**{platform: filters.platform_id})
    if filters.pages is not None:
        rows = rows.filter(page_id__in=filters.pages)
    return rows


def _rows_filtered(*, connection: Connection, window: Window, filters: Filters) -> QuerySet:
    return filters_apply(rows_counted(connection=connection, window=window), filters)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """The sums of one (day, platform) cell of the window, as plain numbers: a year has
    ~5,500 cells, and a Totals per cell (added twice more) cost ~20 ms of a year's page."""

    day: date
    platform: str
    slug: str
    sessions: int
    pageviews: int
    transactions: int
    revenue: Decimal


@dataclass(frozen=True)
class TopPage:
    page_id: int
    url: str
    raw_page_value: str
    totals: Totals
    sessions_by_platform: list[tuple[str, str, int]] = field(default_factory=list)
    is_priority: bool = False
    path: str = ""

    @property
    def sections(self) -> list[tuple[str, str]]:
        """The page's parent sections: (segment, path prefix), for the breadcrumb filter."""
        return path_sections(self.path)

    @property
    def href(self) -> str | None:
        """A link only for path pages on http(s): an Adobe page name could be `javascript:`."""
        if self.raw_page_value.startswith("/") and self.url.startswith(("https://", "http://")):
            return self.url
        return None


@dataclass(frozen=True)
class TopPages:
    total: int
    page: int
    per_page: int
    items: list[TopPage]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


def dashboard_brands(*, user) -> list[Brand]:
    """Brands the user may see: those of their organizations; superusers see every brand.

    Staff who are not superusers are members like any other, as in the admin (SPEC).
    """
    brands = (
        Brand.objects.all()
        if user.is_superuser
        else Brand.objects.filter(organization__members=user)
    )
    return list(brands.select_related("organization").order_by("name", "id"))


def dashboard_connections(*, brand: Brand) -> list[Connection]:
    """Every connection of the brand (active and disabled), by website then newest first."""
    return list(Connection.objects.filter(brand=brand).order_by("website", "-created_at", "id"))


def dashboard_latest_date(*, connection: Connection) -> date | None:
    """The latest day with counted rows: the default window ends there."""
    return daily_counted(connection=connection).aggregate(latest=Max("date"))["latest"]


def dashboard_series(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> list[SeriesPoint]:
    """One query: totals per (day, platform); the KPIs, chart and platform table derive from it.

    From the daily rollup (of one platform, when filtered); with page filters from the rows of
    those pages (the page rollup keeps no platform split).
    """
    source = _daily_source(connection=connection, window=window, filters=filters)
    return series_points(source, rollup=filters.pages is None)


def _daily_source(*, connection: Connection, window: Window, filters: Filters) -> QuerySet:
    """What the daily reads sum: the daily rollup (one platform's, when filtered), or the rows
    of the filtered pages (the page rollup has no days and no platform split)."""
    if filters.pages is not None:
        return _rows_filtered(connection=connection, window=window, filters=filters)
    source = daily_counted(connection=connection).filter(date__range=(window.start, window.end))
    if filters.platform_id is not None:
        source = source.filter(platform_id=filters.platform_id)
    return source


SERIES_KEY = ("date", "platform__name", "platform__slug")
ROLLUP_SUMS = ("sessions", "pageviews", "transactions", "purchase_revenue")


def series_points(source: QuerySet, *, rollup: bool = False) -> list[SeriesPoint]:
    """Totals per (day, platform) of rows, or of the daily rollup (`rollup`: its entries are
    those totals already, read without a GROUP BY), by day then platform. Tuples, not the
    ORM's dicts: 60-100 ms for a year's ~5,500 points as dicts.
    """
    if rollup:
        found = source.order_by("date", "platform__name").values_list(*SERIES_KEY, *ROLLUP_SUMS)
    else:
        found = (
            source.values(*SERIES_KEY)
            .annotate(**METRIC_SUMS)
            .order_by("date", "platform__name")
            .values_list(*SERIES_KEY, *METRIC_SUMS)
        )
    # sum(bigint) is numeric on PostgreSQL (a Decimal until made an int), as in Totals.of_sums.
    return [
        SeriesPoint(day, name, slug, int(sessions), int(pageviews), int(transactions), revenue)
        for day, name, slug, sessions, pageviews, transactions, revenue in found
    ]


def dashboard_daily_totals(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> dict[date, Totals]:
    """The totals of each day with counted rows (the previous period: its KPIs and overlay).

    One query: the daily rollup, or the rows for page filters (read through their
    (page, date) index: a section's or the priority pages' days, not the whole window's).
    """
    source = _daily_source(connection=connection, window=window, filters=filters)
    days = source.order_by().values("date").annotate(**METRIC_SUMS)
    return {row["date"]: Totals.of(row) for row in days}


def dashboard_totals(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> Totals:
    """The window's totals (the previous period's KPIs, when no chart overlays its days).

    For page filters without a platform on PostgreSQL, over ROLLUP_TOTALS_DAYS or more, from
    the page rollup (whole months, the rows of the partial months' days): a section's previous
    year read its ~60,000 rows one heap page each. Elsewhere the sum of its days. (SQLite: its
    raw revenue sums are floats.)
    """
    if (
        filters.pages is None
        or filters.platform_id is not None
        or window.days < ROLLUP_TOTALS_DAYS
        or db.vendor != "postgresql"
    ):
        days = dashboard_daily_totals(connection=connection, window=window, filters=filters)
        return sum(days.values(), Totals())
    sums = pages_totals(connection=connection, window=window, pages=page_ids_sql(filters.pages))
    return Totals.of_sums(*sums)


def dashboard_top_pages(
    *,
    connection: Connection,
    window: Window,
    sort: str,
    page: int,
    per_page: int,
    filters: Filters = NO_FILTERS,
) -> TopPages:
    """Landing pages ranked by `sort` (then by page id, stable on every database), each
    marked when a priority path of the brand matches it; `filters` keep some pages (and
    count one platform's sessions only).

    Four queries: the brand's priority rules, the slice of the ranking with the number of
    ranked pages (ORDER BY ... LIMIT over the page rollups; over the rows of one platform when
    filtered by platform), the pages of the slice, and their totals per platform from their
    rows. A page number past the end shows the last page (two more queries).
    """
    if sort not in SORT_FIELDS:
        raise ValueError(f"unknown sort {sort!r}")
    rules = priority_rules(brand_id=connection.brand_id, website=connection.website)
    rows = _rows_filtered(connection=connection, window=window, filters=filters)
    kept = None
    if filters.pages is not None:
        kept = page_ids_sql(filters.pages)

    def ranked(page: int) -> tuple[list[int], int]:
        if filters.platform_id is not None:
            return _platform_ranking(rows, sort=sort, offset=(page - 1) * per_page, limit=per_page)
        return page_ranking(
            connection=connection,
            window=window,
            sort=sort,
            offset=(page - 1) * per_page,
            limit=per_page,
            pages=kept,
        )

    slice_ids, total = ranked(page)
    if not slice_ids and page > 1:
        if filters.platform_id is not None:
            total = rows.values("page_id").distinct().count()
        else:
            total = page_count(connection=connection, window=window, pages=kept)
        page = max(1, -(-total // per_page))
        slice_ids, total = ranked(page)
    if not total:
        return TopPages(total=0, page=1, per_page=per_page, items=[])
    shown = {
        page.pk: page
        for page in SitemapPage.objects.filter(brand_id=connection.brand_id, pk__in=slice_ids).only(
            "url", "raw_page_value", "path"
        )
    }
    totals: dict[int, Totals] = {page_id: Totals() for page_id in slice_ids}
    splits: dict[int, list[tuple[str, str, int]]] = {page_id: [] for page_id in slice_ids}
    # Grouped by (page, platform) alone: joining the pages' text columns into the grouping
    # hashed every page of the brand (12-15 ms of a year's 40).
    for page_id, name, slug, *sums in (
        rows.filter(page_id__in=slice_ids)
        .values("page_id", "platform__name", "platform__slug")
        .annotate(**METRIC_SUMS)
        .values_list("page_id", "platform__name", "platform__slug", *METRIC_SUMS)
    ):
        totals[page_id] += Totals.of_sums(*sums)
        splits[page_id].append((name, slug, int(sums[0])))
    items = [
        TopPage(
            page_id=page_id,
            url=shown[page_id].url,
            raw_page_value=shown[page_id].raw_page_value,
            totals=totals[page_id],
            sessions_by_platform=sorted(splits[page_id], key=lambda item: (-item[2], item[0])),
            is_priority=any(
                rule.matches(website=connection.website, path=shown[page_id].path) for rule in rules
            ),
            path=shown[page_id].path,
        )
        for page_id in slice_ids
    ]
    return TopPages(total=total, page=page, per_page=per_page, items=items)


def _platform_ranking(rows: QuerySet, *, sort: str, offset: int, limit: int):
    """A slice of the pages of `rows` (one platform's), most `sort` first, then by id, and
    how many pages there are: one query (a window count over the grouped rows)."""
    ranked = (
        rows.values("page_id")
        .annotate(total=METRIC_SUMS[f"sum_{sort}"], pages=Over(Count("*")))
        .order_by("-total", "page_id")[offset : offset + limit]
    )
    found = list(ranked.values_list("page_id", "pages"))
    return [page_id for page_id, _ in found], (found[0][1] if found else 0)


def dashboard_recent_pushes(*, connection: Connection, limit: int = RECENT_PUSHES) -> list[PushLog]:
    return list(
        PushLog.objects.filter(brand_id=connection.brand_id, connection_id=connection.pk).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def dashboard_dropped_referrers(
    *, connection: Connection, limit: int = TOP_DROPPED_REFERRERS
) -> list[DroppedReferrer]:
    """The referrers dropped most often: candidates for the AI-platform allow-list."""
    return list(
        DroppedReferrer.objects.filter(
            brand_id=connection.brand_id, connection_id=connection.pk
        ).order_by("-count", "raw_referrer_value")[:limit]
    )


def dashboard_export_rows(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> Iterator[dict]:
    """Totals per day x platform x page, streamed from a server-side cursor where available."""
    return (
        _rows_filtered(connection=connection, window=window, filters=filters)
        .filter(page__brand_id=connection.brand_id)
        .values("date", "platform__name", "page_id", "page__raw_page_value", "page__url")
        .annotate(**METRIC_SUMS)
        .order_by("date", "platform__name", "page_id")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


def dashboard_website_crawl(*, brand_id: int, website: str) -> WebsiteCrawl | None:
    """The website's crawl (robots.txt policy per AI agent, /llms.txt), None before any."""
    return WebsiteCrawl.objects.filter(brand_id=brand_id, website=website).first()
