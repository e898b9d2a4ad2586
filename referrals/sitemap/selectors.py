"""Sitemap reads: a website's pages with their AI-referral totals, a page's series, export rows.

Decisions where the spec is silent:
- Reads follow the active connection (referrals.reporting.rows says which rows count); the
  `agent_traffic` figures follow the website's active agent connection (sitemap.agent_traffic).
- A brand's websites are those of its connections, active or disabled; the default domain is
  the website of the brand's oldest active connection, referral or agent traffic alike
  (registering another website never changes it; none: 404). A website whose only connection
  is disabled lists its pages with zero totals when asked for by `domain`.
- `search` matches the url or the title (the crawl's).
- `count_by_platform` holds platforms with at least one AI session (a page or bucket without
  sessions has `{}`), most sessions first, then by name.
- `purchase_revenue` is rounded half-up to 2 places.
- Strings compare by code point on both databases (url ordering, path prefix), and `search`
  folds ASCII letters only, as SQLite's LIKE does, so both databases return the same rows.
- Pages are ordered with their id as the last tie-breaker, so pagination is stable.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Func, Q, QuerySet, Sum
from django.db.models.functions import Substr

from referrals.models import (
    KIND_AGENT,
    KIND_REFERRAL,
    AIPlatform,
    Brand,
    Connection,
    SitemapPage,
    WebsiteCrawl,
)
from referrals.reporting.pages import page_ids_sql, page_platform_sums, pages_by_sessions
from referrals.reporting.rows import rows_counted
from referrals.reporting.totals import METRIC_SUMS, Totals
from referrals.reporting.window import Window
from referrals.sitemap.agent_traffic import (
    AgentBucket,
    AgentExportTotals,
    AgentTotals,
    agent_export_totals,
    agent_page_series,
    agent_totals_attach,
)
from referrals.sitemap.priority import (
    Rule,
    pages_filter_priority,
    pages_mark_priority,
    priority_rules,
)

ORDERING_DEPTH_URL = "depth,url"
ORDERING_AI_REFERRALS = "-ai_referrals"
ORDERINGS = (ORDERING_DEPTH_URL, ORDERING_AI_REFERRALS)

BRAND_HAS_NO_WEBSITE = "This brand has no active connection: register one first."
DOMAIN_NOT_FOUND = "This brand has no connection for domain '{domain}'."

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_FOLD = str.maketrans(_ASCII_UPPER, _ASCII_UPPER.lower())


class WebsiteNotFound(LookupError):
    """The brand has no website, or none by that name; the API answers 404 with the message."""


class TooManyRows(ValueError):
    """An export would exceed its row limit; the API answers 400."""


class AsciiLower(Func):
    """LOWER() for A-Z only, which is what SQLite's built-in lower() does."""

    function = "LOWER"

    def as_postgresql(self, compiler, connection, **extra_context):
        template = f"TRANSLATE(%(expressions)s, '{_ASCII_UPPER}', '{_ASCII_UPPER.lower()}')"
        return self.as_sql(compiler, connection, template=template, **extra_context)


class CodePointOrder(Func):
    """Sort a string by code point: PostgreSQL's database collation may sort otherwise."""

    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template='%(expressions)s COLLATE "C"')


@dataclass(frozen=True)
class PageFilters:
    max_depth: int | None = None
    path_prefix: str | None = None
    search: str | None = None
    is_priority: bool | None = None
    has_optimized_content: bool | None = None
    ordering: str = ORDERING_DEPTH_URL


@dataclass(frozen=True)
class Bucket:
    date: date
    count_by_platform: dict[str, int]


@dataclass
class PageList:
    total: int
    pages: list[SitemapPage]  # each with an `ai_referrals` Totals


@dataclass
class ExportRow:
    page: SitemapPage
    totals: Totals
    first_bucket_sessions: int = 0
    last_bucket_sessions: int = 0
    agent: AgentExportTotals = field(default_factory=lambda: AgentExportTotals(AgentTotals()))

    @property
    def change_pct(self) -> float | None:
        """Percent change of AI sessions from the first to the last bucket; None from 0."""
        if not self.first_bucket_sessions:
            return None
        change = self.last_bucket_sessions - self.first_bucket_sessions
        return round(change * 100 / self.first_bucket_sessions, 1)


@dataclass(frozen=True)
class Site:
    """A website of a brand, and its active connections: the ones whose rows its reads count
    (referral rows, agent-traffic rows)."""

    brand_id: int
    website: str
    connection: Connection | None
    agent_connection: Connection | None = None
    priority_rules: list[Rule] = field(default_factory=list)


def _platform_totals(group: dict) -> Totals:
    return Totals.of(group, platform=group["platform__name"])


def _filtered_pages(*, site: Site, filters: PageFilters) -> QuerySet:
    pages = SitemapPage.objects.filter(brand_id=site.brand_id, website=site.website)
    if filters.max_depth is not None:
        pages = pages.filter(depth__lte=filters.max_depth)
    if filters.path_prefix:
        prefix = filters.path_prefix.rstrip("/")
        # Segment-aligned and case-sensitive: equal, or followed by a slash.
        head = prefix + "/"
        pages = pages.alias(path_head=Substr("path", 1, len(head)))
        pages = pages.filter(Q(path=prefix) | Q(path_head=head) if prefix else Q(path_head=head))
    if filters.search:
        # `contains` escapes LIKE wildcards (% _ \) in the term.
        term = filters.search.translate(_ASCII_FOLD)
        pages = pages.alias(url_folded=AsciiLower("url"), title_folded=AsciiLower("title"))
        pages = pages.filter(Q(url_folded__contains=term) | Q(title_folded__contains=term))
    if filters.is_priority is not None:
        pages = pages_filter_priority(pages, site.priority_rules, is_priority=filters.is_priority)
    if filters.has_optimized_content:
        pages = pages.none()  # this service deploys no content
    if "\x00" in (filters.path_prefix or "") + (filters.search or ""):
        pages = pages.none()  # no page value holds a NUL (the push refuses them)
    return pages


def sitemap_pages_filtered(*, site: Site, filters: PageFilters) -> QuerySet:
    """The site's pages the filters keep (brand-scoped): the dashboard's page filters too."""
    return _filtered_pages(site=site, filters=filters)


def _ordered_pages(
    pages: QuerySet,
    *,
    site: Site,
    filters: PageFilters,
    window: Window,
    offset: int = 0,
    limit: int | None = None,
) -> list[SitemapPage]:
    end = None if limit is None else offset + limit
    if filters.ordering != ORDERING_AI_REFERRALS:
        return list(pages.order_by("depth", CodePointOrder(F("url")), "id")[offset:end])
    if site.connection is None:  # no AI sessions: by url alone
        return list(pages.order_by(CodePointOrder(F("url")), "id")[offset:end])
    # Sorting by AI sessions needs them for every filtered page: the pages joined with their
    # window sums from the page rollups, ordered and sliced in SQL (referrals.reporting.pages).
    ids = pages_by_sessions(
        connection=site.connection,
        window=window,
        pages=pages.order_by().values_list("id", "brand_id", "url").query.sql_with_params(),
        offset=offset,
        limit=limit,
    )
    found = pages.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def _attach_totals(pages: list[SitemapPage], *, site: Site, window: Window) -> None:
    """One query for all the pages: sums grouped by page and platform."""
    totals = {page.pk: Totals() for page in pages}
    if totals:
        groups = (
            rows_counted(connection=site.connection, window=window)
            .filter(page_id__in=list(totals))
            .values("page_id", "platform__name")
            .annotate(**METRIC_SUMS)
        )
        for group in groups:
            totals[group["page_id"]] += _platform_totals(group)
    for page in pages:
        page.ai_referrals = totals[page.pk]
    agent_totals_attach(pages, connection=site.agent_connection, window=window)
    pages_mark_priority(pages, site.priority_rules)


def sitemap_site_resolve(*, brand: Brand, domain: str | None) -> Site:
    """The website to read with its active connection and priority rules: `domain`
    (canonical) if the brand has a connection for it, else the website of the brand's oldest
    active connection. Two queries."""
    connections = Connection.objects.filter(brand=brand)
    fields = ("pk", "brand_id", "website", "status", "kind", "created_at")
    if domain is None:
        # The default website is that of the brand's oldest active connection of EITHER kind
        # (referral or agent traffic): a brand that only sends agent traffic still has a site
        # map to read. The dashboard's default website follows the same rule
        # (referrals.dashboard.views._resolve).
        active = connections.filter(status=Connection.STATUS_ACTIVE)
        found = list(active.order_by("created_at", "id").only(*fields))
        website = found[0].website if found else None
        found = [c for c in found if c.website == website]
    else:
        website = domain
        # No website holds a NUL (nor can PostgreSQL compare one): an unknown domain.
        found = [] if "\x00" in domain else list(connections.filter(website=domain).only(*fields))
    if not found:
        message = BRAND_HAS_NO_WEBSITE if domain is None else DOMAIN_NOT_FOUND
        raise WebsiteNotFound(message.format(domain=domain))
    return _site(brand_id=brand.pk, website=website, connections=found)


def _site(*, brand_id: int, website: str, connections: list[Connection]) -> Site:
    """The Site of a website from its connections (any status, any kind)."""

    def active(kind: str) -> Connection | None:
        return next((c for c in connections if c.kind == kind and c.is_active), None)

    return Site(
        brand_id=brand_id,
        website=website,
        connection=active(KIND_REFERRAL),
        agent_connection=active(KIND_AGENT),
        priority_rules=priority_rules(brand_id=brand_id, website=website),
    )


def sitemap_page_site(*, page: SitemapPage, with_rules: bool = True) -> Site:
    """The site a page belongs to, with its active connections (one query) and priority
    rules (one more unless `with_rules` is false)."""
    active = Connection.objects.filter(
        brand_id=page.brand_id, website=page.website, status=Connection.STATUS_ACTIVE
    ).only("pk", "brand_id", "website", "status", "kind")
    by_kind = {connection.kind: connection for connection in active}
    rules = priority_rules(brand_id=page.brand_id, website=page.website) if with_rules else []
    return Site(
        brand_id=page.brand_id,
        website=page.website,
        connection=by_kind.get(KIND_REFERRAL),
        agent_connection=by_kind.get(KIND_AGENT),
        priority_rules=rules,
    )


def sitemap_last_crawl_completed(*, site: Site):
    """When the website's last crawl completed (None before the first)."""
    return (
        WebsiteCrawl.objects.filter(brand_id=site.brand_id, website=site.website)
        .values_list("last_crawl_completed", flat=True)
        .first()
    )


def sitemap_page_list(
    *, site: Site, filters: PageFilters, window: Window, limit: int, offset: int
) -> PageList:
    """Three queries: the count, the page of pages, and their totals (two more, the sessions
    per page and the pages' urls, to order by AI referrals)."""
    pages = _filtered_pages(site=site, filters=filters)
    total = pages.count()
    items: list[SitemapPage] = []
    if offset < total:
        items = _ordered_pages(
            pages, site=site, filters=filters, window=window, offset=offset, limit=limit
        )
        _attach_totals(items, site=site, window=window)
    return PageList(total=total, pages=items)


def sitemap_page_totals(*, page: SitemapPage, window: Window) -> Totals:
    """Sets `page.ai_referrals`, `page.agent_traffic` and the priority flag for the window;
    returns the former."""
    _attach_totals([page], site=sitemap_page_site(page=page), window=window)
    return page.ai_referrals


def sitemap_page_series(
    *, page: SitemapPage, window: Window, site: Site | None = None
) -> list[Bucket]:
    """AI sessions per platform in every bucket of the window, zero-filled (one query, and
    one for the page's site unless given)."""
    per_bucket = {bucket: Totals() for bucket in window.buckets()}
    site = site or sitemap_page_site(page=page, with_rules=False)
    groups = (
        rows_counted(connection=site.connection, window=window)
        .filter(page=page)
        .values("date", "platform__name")
        .annotate(sum_sessions=Sum("sessions"))
    )
    for group in groups:
        sessions = int(group["sum_sessions"] or 0)
        bucket = window.bucket_of(group["date"])
        per_bucket[bucket] += Totals(
            sessions=sessions, platform_sessions={group["platform__name"]: sessions}
        )
    return [Bucket(day, totals.count_by_platform) for day, totals in per_bucket.items()]


def sitemap_page_agent_series(
    *, page: SitemapPage, window: Window, site: Site | None = None
) -> list[AgentBucket]:
    """AI-agent hits per platform in every bucket of the window, zero-filled."""
    site = site or sitemap_page_site(page=page, with_rules=False)
    return agent_page_series(page=page, connection=site.agent_connection, window=window)


def sitemap_export_rows(
    *, site: Site, filters: PageFilters, window: Window, max_rows: int, with_metrics: bool = True
) -> list[ExportRow]:
    """Every filtered page with its totals (zero without metrics); TooManyRows beyond
    max_rows. Four queries (the count, the pages, their sums, their agent hits); two more for
    the platforms' names and the priority rules' pages.

    With metrics, an export by AI referrals is sorted here, by the sums it shows (as
    _ordered_pages sorts: sessions, then url by code point, then id), not by a second sum of
    the window in SQL.
    """
    pages = _filtered_pages(site=site, filters=filters)
    if pages.count() > max_rows:
        raise TooManyRows(max_rows)
    sums = {}
    if with_metrics and site.connection is not None:
        sums = page_platform_sums(
            connection=site.connection,
            window=window,
            pages=page_ids_sql(pages),
            first=window.first_bucket(),
            last=window.last_bucket(),
        )
    if with_metrics and filters.ordering == ORDERING_AI_REFERRALS:
        sessions = {page_id: page_sums.sessions for page_id, page_sums in sums.items()}
        ordered = sorted(
            pages.order_by(), key=lambda page: (-sessions.get(page.pk, 0), page.url, page.pk)
        )
    else:
        ordered = _ordered_pages(pages, site=site, filters=filters, window=window)
    pages_mark_priority(ordered, site.priority_rules)
    rows = {page.pk: ExportRow(page=page, totals=Totals()) for page in ordered}
    if not rows or not with_metrics:
        return list(rows.values())
    names = dict(AIPlatform.objects.values_list("id", "name")) if sums else {}
    for page_id, page_sums in sums.items():
        row = rows.get(page_id)
        if row is None:  # a page created between the two queries
            continue
        row.totals = Totals(
            sessions=page_sums.sessions,
            pageviews=page_sums.pageviews,
            transactions=page_sums.transactions,
            revenue=page_sums.revenue,
            platform_sessions={names[pk]: n for pk, n in page_sums.platform_sessions.items()},
        )
        row.first_bucket_sessions = page_sums.first_sessions
        row.last_bucket_sessions = page_sums.last_sessions
    agents = agent_export_totals(pages=pages, connection=site.agent_connection, window=window)
    for page_id, totals in agents.items():
        if page_id in rows:
            rows[page_id].agent = totals
    return list(rows.values())
