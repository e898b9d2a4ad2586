"""A page's own dashboard view: its KPIs with period change, its daily chart per platform, its
agent traffic, its crawl and audit facts.

Decisions where the spec is silent:
- The page view shows every platform of the page (its numbers equal the Sitemap API's
  `/pages/{id}` and `/metrics`, which have no platform filter); the dashboard's filters stay in
  its query string, so "back to the dashboard" returns to the filtered view.
- A page of another brand, of a brand the user may not see, or no page at all: 404, the same
  page either way (never reveal another organization's pages).
"""

from dataclasses import dataclass

from referrals.dashboard.metrics import (
    kpis,
    platform_rows,
    previous_sessions,
    sessions_chart,
    totals_of,
)
from referrals.dashboard.selectors import SeriesPoint, series_points
from referrals.models import SitemapPage
from referrals.reporting.rows import rows_counted
from referrals.reporting.totals import METRIC_SUMS, Totals
from referrals.reporting.window import Window
from referrals.sitemap.agent_traffic import agent_totals_attach
from referrals.sitemap.priority import pages_mark_priority
from referrals.sitemap.selectors import Site, sitemap_page_site


def page_find(*, brand_id: int, page_id: int) -> SitemapPage | None:
    """The brand's page (by brand first: its shard on Citus), or None."""
    return SitemapPage.objects.filter(brand_id=brand_id, pk=page_id).first()


def page_live_href(page: SitemapPage) -> str | None:
    """The live URL for a path page on http(s) only: an Adobe page name could be `javascript:`."""
    if page.raw_page_value.startswith("/") and page.url.startswith(("https://", "http://")):
        return page.url
    return None


def page_series(*, page: SitemapPage, site: Site, window: Window) -> list[SeriesPoint]:
    """The page's totals per (day, platform): one query over its rows (by brand, connection,
    date and page)."""
    return series_points(
        rows_counted(connection=site.connection, window=window).filter(page_id=page.pk)
    )


def page_daily_totals(*, page: SitemapPage, site: Site, window: Window) -> dict:
    """The page's totals per day (the previous period: its KPIs and overlay)."""
    rows = (
        rows_counted(connection=site.connection, window=window)
        .filter(page_id=page.pk)
        .values("date")
        .annotate(**METRIC_SUMS)
    )
    return {row["date"]: Totals.of(row) for row in rows}


@dataclass(frozen=True)
class Finding:
    check: str
    lost: int
    detail: str


def page_findings(page: SitemapPage) -> list[Finding]:
    """What cost the page points (docs/audit.md), most points first."""
    found = [
        Finding(str(f.get("check", "")), int(f.get("lost") or 0), str(f.get("detail", "")))
        for f in (page.audit_findings or [])
        if isinstance(f, dict)
    ]
    return sorted(found, key=lambda f: (-f.lost, f.check))


def page_report(*, page: SitemapPage, window: Window, compare: bool) -> dict:
    """The page view's context: six queries (site, rules, series, previous, agents)."""
    site = sitemap_page_site(page=page)
    pages_mark_priority([page], site.priority_rules)
    agent_totals_attach([page], connection=site.agent_connection, window=window)
    context = {
        "page_obj": page,
        "live_href": page_live_href(page),
        "findings": page_findings(page),
        "agent_traffic": page.agent_traffic,
        "agent_platforms": list(page.agent_traffic.count_by_platform.items()),
        "has_data": False,
    }
    if site.connection is None:
        return context
    points = page_series(page=page, site=site, window=window)
    previous_days = page_daily_totals(page=page, site=site, window=window.previous)
    previous = sum(previous_days.values(), Totals())
    current = totals_of(points)
    platforms = platform_rows(points)
    overlay = previous_sessions(previous_days, window.previous) if compare else None
    chart, chart_data = sessions_chart(points, platforms, window.start, window.end, overlay=overlay)
    return context | {
        "has_data": bool(points) or bool(previous_days),
        "totals": current,
        "kpis": kpis(current, previous),
        "previous_period": (window.previous.start, window.previous.end),
        "platforms": platforms,
        "chart": chart,
        "chart_data": chart_data,
    }
