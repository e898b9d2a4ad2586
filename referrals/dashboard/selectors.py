"""Reads for the AI Traffic dashboard: a handful of set-based queries per page view.

Reads follow the website's active connection (referrals.reporting.rows says which rows count,
referrals.reporting.totals how they sum). KPIs and the daily chart read the daily rollup
(DailyPlatformTotal, ~15 rows a day); the landing pages are ranked from the page rollups
(referrals.reporting.pages), and only the pages shown read their rows (by page and date).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max

from referrals.models import (
    Brand,
    Connection,
    DroppedReferrer,
    PushLog,
    SitemapPage,
    WebsiteCrawl,
)
from referrals.reporting.pages import page_count, page_ranking
from referrals.reporting.rows import daily_counted, rows_counted
from referrals.reporting.totals import METRIC_SUMS, Totals
from referrals.reporting.window import Window
from referrals.sitemap.priority import pages_filter_priority, priority_rules

SORT_FIELDS = ("sessions", "pageviews", "transactions", "revenue")
RECENT_PUSHES = 10
TOP_DROPPED_REFERRERS = 10
EXPORT_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class SeriesPoint:
    """The totals of one (day, platform) cell of the window."""

    day: date
    platform: str
    slug: str
    totals: Totals


@dataclass(frozen=True)
class TopPage:
    page_id: int
    url: str
    raw_page_value: str
    totals: Totals
    sessions_by_platform: list[tuple[str, str, int]] = field(default_factory=list)
    is_priority: bool = False

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


def dashboard_series(*, connection: Connection, window: Window) -> list[SeriesPoint]:
    """One query: totals per (day, platform); the KPIs, chart and platform table derive from it."""
    rows = (
        daily_counted(connection=connection)
        .filter(date__range=(window.start, window.end))
        .values("date", "platform__name", "platform__slug")
        .annotate(**METRIC_SUMS)
        .order_by("date", "platform__name")
    )
    return [
        SeriesPoint(
            day=row["date"],
            platform=row["platform__name"],
            slug=row["platform__slug"],
            totals=Totals.of(row),
        )
        for row in rows
    ]


def dashboard_totals(*, connection: Connection, window: Window) -> Totals:
    """The window's totals in one aggregate (used for the previous period)."""
    days = daily_counted(connection=connection).filter(date__range=(window.start, window.end))
    return Totals.of(days.aggregate(**METRIC_SUMS))


def dashboard_top_pages(
    *,
    connection: Connection,
    window: Window,
    sort: str,
    page: int,
    per_page: int,
    only_priority: bool = False,
) -> TopPages:
    """Landing pages ranked by `sort` (then by page id, stable on every database), each
    marked when a priority path of the brand matches it; `only_priority` keeps those.

    Three queries: the brand's priority rules, the slice of the ranking with the number of
    ranked pages (ORDER BY ... LIMIT over the page rollups), then the totals per platform of
    the pages of the slice from their rows. A page number past the end shows the last page
    (two more queries).
    """
    if sort not in SORT_FIELDS:
        raise ValueError(f"unknown sort {sort!r}")
    rules = priority_rules(brand_id=connection.brand_id, website=connection.website)
    rows = rows_counted(connection=connection, window=window)
    priority = None
    if only_priority:
        pages = SitemapPage.objects.filter(brand_id=connection.brand_id, website=connection.website)
        pages = pages_filter_priority(pages, rules, is_priority=True).order_by()
        priority = pages.values_list("pk").query.sql_with_params()
        rows = rows.filter(page_id__in=pages.values("pk"))

    def ranked(page: int) -> tuple[list[int], int]:
        return page_ranking(
            connection=connection,
            window=window,
            sort=sort,
            offset=(page - 1) * per_page,
            limit=per_page,
            pages=priority,
        )

    slice_ids, total = ranked(page)
    if not slice_ids and page > 1:
        total = page_count(connection=connection, window=window, pages=priority)
        page = max(1, -(-total // per_page))
        slice_ids, total = ranked(page)
    if not total:
        return TopPages(total=0, page=1, per_page=per_page, items=[])
    found: dict[int, dict] = {}
    for row in (
        rows.filter(page_id__in=slice_ids, page__brand_id=connection.brand_id)
        .values(
            "page_id",
            "page__url",
            "page__raw_page_value",
            "page__path",
            "platform__name",
            "platform__slug",
        )
        .annotate(**METRIC_SUMS)
    ):
        entry = found.setdefault(row["page_id"], {"row": row, "totals": Totals(), "split": []})
        entry["totals"] += Totals.of(row)
        entry["split"].append((row["platform__name"], row["platform__slug"], row["sum_sessions"]))
    items = []
    for page_id in slice_ids:
        entry = found[page_id]
        split = sorted(entry["split"], key=lambda item: (-item[2], item[0]))
        items.append(
            TopPage(
                page_id=page_id,
                url=entry["row"]["page__url"],
                raw_page_value=entry["row"]["page__raw_page_value"],
                totals=entry["totals"],
                sessions_by_platform=[(name, slug, int(n)) for name, slug, n in split],
                is_priority=any(
                    rule.matches(website=connection.website, path=entry["row"]["page__path"])
                    for rule in rules
                ),
            )
        )
    return TopPages(total=total, page=page, per_page=per_page, items=items)


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


def dashboard_export_rows(*, connection: Connection, window: Window) -> Iterator[dict]:
    """Totals per day x platform x page, streamed from a server-side cursor where available."""
    return (
        rows_counted(connection=connection, window=window)
        .filter(page__brand_id=connection.brand_id)
        .values("date", "platform__name", "page_id", "page__raw_page_value", "page__url")
        .annotate(**METRIC_SUMS)
        .order_by("date", "platform__name", "page_id")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


def dashboard_website_crawl(*, brand_id: int, website: str) -> WebsiteCrawl | None:
    """The website's crawl (robots.txt policy per AI agent, /llms.txt), None before any."""
    return WebsiteCrawl.objects.filter(brand_id=brand_id, website=website).first()
