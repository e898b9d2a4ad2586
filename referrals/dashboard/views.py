"""AI Traffic dashboard views (session login): the page, a page's own view and the CSV exports.

Both views resolve the same query-string state (`_resolve`), so the export holds exactly the
rows of the view it was linked from. Reads follow the website's active connection; the health
panel shows the active connection, or the newest disabled one when none is active.
"""

from dataclasses import dataclass, field, replace
from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from referrals.dashboard import agents as agent_section
from referrals.dashboard.csv_export import agent_csv_lines, csv_lines, export_filename
from referrals.dashboard.metrics import (
    connection_health,
    kpis,
    platform_rows,
    platform_split,
    previous_sessions,
    sessions_chart,
    totals_of,
)
from referrals.dashboard.page_view import page_find, page_report
from referrals.dashboard.selectors import (
    NO_FILTERS,
    SORT_FIELDS,
    Filters,
    dashboard_brands,
    dashboard_connections,
    dashboard_daily_totals,
    dashboard_dropped_referrers,
    dashboard_export_rows,
    dashboard_filters,
    dashboard_latest_date,
    dashboard_platforms,
    dashboard_recent_pushes,
    dashboard_series,
    dashboard_top_pages,
    dashboard_totals,
    dashboard_website_crawl,
)
from referrals.dashboard.state import (
    DEFAULT_SORT,
    PAGE_SIZE,
    ViewState,
    parse_brand_id,
    resolve_flag,
    resolve_page,
    resolve_path_prefix,
    resolve_platform,
    resolve_sort,
    resolve_website,
    resolve_window,
)
from referrals.models import KIND_AGENT, Brand, Connection
from referrals.reporting.totals import Totals
from referrals.reporting.window import DEFAULT_WINDOW_DAYS
from referrals.tenancy.scoping import id_parse

PRESET_DAYS = (7, DEFAULT_WINDOW_DAYS, 90, 365)
OPTIONAL_ON_PHONES = ("pageviews", "transactions")


@dataclass
class Resolved:
    brands: list[Brand]
    brand: Brand
    websites: list[str]
    connection: Connection | None  # the active one: the rows we read
    shown_connection: Connection | None  # for the health panel
    state: ViewState
    # The same for the website's agent-traffic connections (the "AI agents" section).
    agent_connection: Connection | None = None
    shown_agent_connection: Connection | None = None
    messages: list[str] = field(default_factory=list)
    filters: Filters = NO_FILTERS
    platform_name: str = ""

    @property
    def chips(self) -> list[tuple[str, str]]:
        """(label, query without it) of every filter in force: each removable in one click."""
        state, chips = self.state, []
        if state.platform:
            chips.append((f"Platform: {self.platform_name}", state.query(platform=None, page=1)))
        if state.path_prefix:
            chips.append((f"Section: {state.path_prefix}", state.query(path_prefix=None, page=1)))
        if state.priority:
            chips.append(("Priority pages", state.query(priority=False, page=1)))
        return chips

    @property
    def breadcrumb(self) -> list[tuple[str, str]]:
        """(segment, query) of every level of the section in force, from the whole site."""
        prefix = self.state.path_prefix
        if not prefix or prefix == "/":
            return []
        segments = [s for s in prefix.split("/") if s]
        crumbs = [("All pages", self.state.query(path_prefix=None, page=1))]
        for i, segment in enumerate(segments):
            level = "/" + "/".join(segments[: i + 1])
            crumbs.append((segment, self.state.query(path_prefix=level, page=1)))
        return crumbs


def _resolve(request, *, website: str | None = None) -> Resolved | None:
    """The view state of the request; None when the user sees no brand and asked for none.

    `website` overrides the query string's (a page's own view reads the page's website)."""
    brands = dashboard_brands(user=request.user)
    raw_brand = request.GET.get("brand") or None
    if not brands and raw_brand is None:
        return None
    if raw_brand is None:
        brand = brands[0]
    else:
        brand_id = parse_brand_id(raw_brand)
        brand = next((b for b in brands if b.pk == brand_id), None)
        if brand is None:
            raise Http404("No such brand.")

    every = dashboard_connections(brand=brand)
    websites = sorted({c.website for c in every})
    connections = [c for c in every if c.kind != KIND_AGENT]
    agent_connections = [c for c in every if c.kind == KIND_AGENT]
    active = {c.website: c for c in connections if c.is_active}
    agents_active = {c.website: c for c in agent_connections if c.is_active}
    # The brand's default website, as the Sitemap API's (sitemap_site_resolve): that of its
    # oldest active connection, referral or agent traffic alike (a brand that only sends agent
    # traffic still has a website to show). Registering another website never changes it; with
    # no active connection, the first website (disabled-only: its health panel, no data).
    live = [c for c in every if c.is_active]
    oldest = min(live, key=lambda c: (c.created_at, c.pk), default=None)
    default = oldest.website if oldest else (websites[0] if websites else None)
    website, messages = resolve_website(
        website or request.GET.get("website"), websites=websites, default=default
    )
    connection = active.get(website)
    shown = connection or next((c for c in connections if c.website == website), None)
    agent_connection = agents_active.get(website)
    shown_agents = agent_connection or next(
        (c for c in agent_connections if c.website == website), None
    )

    def latest() -> date | None:
        if connection is not None:
            return dashboard_latest_date(connection=connection)
        if agent_connection is not None:
            return agent_section.agent_latest_date(connection=agent_connection)
        return None

    window, date_messages = resolve_window(
        request.GET.get("start_date"),
        request.GET.get("end_date"),
        latest=latest,
        today=timezone.localdate(),
    )
    sort, sort_messages = resolve_sort(request.GET.get("sort"))
    page, page_messages = resolve_page(request.GET.get("page"))
    platforms: dict[str, tuple[int, str]] = {}

    def slugs() -> dict[str, tuple[int, str]]:
        if not platforms:
            platforms.update(dashboard_platforms())
        return platforms

    platform, platform_messages = resolve_platform(request.GET.get("platform"), slugs=slugs)
    path_prefix, prefix_messages = resolve_path_prefix(request.GET.get("path_prefix"))
    priority, priority_messages = resolve_flag(
        request.GET.get("priority"), name="priority", default="showing every page"
    )
    compare, compare_messages = resolve_flag(
        request.GET.get("compare"), name="compare", default="without the previous period"
    )
    state = ViewState(
        priority=priority,
        brand_id=brand.pk,
        website=website,
        start=window.start,
        end=window.end,
        sort=sort,
        page=page,
        platform=platform,
        path_prefix=path_prefix,
        compare=compare,
    )
    platform_id, platform_name = platforms[platform] if platform else (None, "")
    filters = NO_FILTERS
    if website and state.filtered:
        filters = dashboard_filters(
            brand_id=brand.pk,
            website=website,
            platform_id=platform_id,
            path_prefix=path_prefix,
            priority=state.priority,
        )
    return Resolved(
        brands=brands,
        brand=brand,
        websites=websites,
        connection=connection,
        shown_connection=shown,
        state=state,
        messages=messages
        + date_messages
        + sort_messages
        + page_messages
        + platform_messages
        + prefix_messages
        + priority_messages
        + compare_messages,
        agent_connection=agent_connection,
        shown_agent_connection=shown_agents,
        filters=filters,
        platform_name=platform_name,
    )


def _report(connection: Connection, state: ViewState, filters: Filters = NO_FILTERS) -> dict:
    """KPIs, chart, platform table, top pages: five queries; just one when the window is empty."""
    points = dashboard_series(connection=connection, window=state.window, filters=filters)
    if not points:
        return {"has_data": False}
    previous_window = state.window.previous
    overlay = None
    if state.compare:  # the previous period's days, for the overlay
        previous_days = dashboard_daily_totals(
            connection=connection, window=previous_window, filters=filters
        )
        previous = sum(previous_days.values(), Totals())
        overlay = previous_sessions(previous_days, previous_window)
    else:
        previous = dashboard_totals(connection=connection, window=previous_window, filters=filters)
    current = totals_of(points)
    platforms = platform_rows(points)
    chart, chart_data = sessions_chart(points, platforms, state.start, state.end, overlay=overlay)
    top = dashboard_top_pages(
        connection=connection,
        window=state.window,
        sort=state.sort,
        page=state.page,
        per_page=PAGE_SIZE,
        filters=filters,
    )
    state = replace(state, page=top.page)
    return {
        "has_data": True,
        "state": state,
        "totals": current,
        "kpis": kpis(current, previous),
        "previous_period": (previous_window.start, previous_window.end),
        "platforms": platforms,
        "chart": chart,
        "chart_data": chart_data,
        "top": top,
        "pages": [(item, platform_split(item.sessions_by_platform)) for item in top.items],
        # (key, label, link, hidden on a phone unless it is the sort key)
        "sort_columns": [
            (
                key,
                key.capitalize(),
                replace(state, sort=key, page=1).query(),
                key in OPTIONAL_ON_PHONES and key != state.sort,
            )
            for key in SORT_FIELDS
        ],
        "priority_toggle_query": replace(state, priority=not state.priority, page=1).query(),
        "platform_queries": {p.slug: state.query(platform=p.slug, page=1) for p in platforms},
        "section_queries": {
            prefix: state.query(path_prefix=prefix, page=1)
            for item in top.items
            for _, prefix in item.sections[:1]
        },
        "page_view_queries": {item.page_id: state.page_query(item.page_id) for item in top.items},
        "prev_page_query": replace(state, page=top.page - 1).query(),
        "next_page_query": replace(state, page=top.page + 1).query(),
    }


@require_safe
@login_required
@cache_control(private=True, no_cache=True)
def page_view(request):
    """A page's own view; 404 for a page the user's brands do not hold (no existence leak)."""
    brand_id = parse_brand_id(request.GET.get("brand"))
    page_id = id_parse(request.GET.get("page") or "")
    page = None
    visible = brand_id is not None and page_id is not None
    if visible and any(b.pk == brand_id for b in dashboard_brands(user=request.user)):
        page = page_find(brand_id=brand_id, page_id=page_id)
    if page is None:
        raise Http404("No such page.")
    resolved = _resolve(request, website=page.website)
    state = replace(resolved.state, page=1, sort=DEFAULT_SORT)
    context = {
        "r": resolved,
        "state": state,
        "back_query": state.query(),
        "presets": [(days, state.with_days(days) + f"&page={page.pk}") for days in PRESET_DAYS],
        "compare_on_query": state.page_query(page.pk) + "&compare=1" if not state.compare else "",
        "compare_off_query": replace(state, compare=False).page_query(page.pk),
    }
    context |= page_report(page=page, window=state.window, compare=state.compare)
    return render(request, "dashboard/page.html", context)


@require_safe
@login_required
@cache_control(private=True, no_cache=True)
def dashboard(request):
    resolved = _resolve(request)
    if resolved is None:
        return render(request, "dashboard/no_brand.html", {})
    state, connection = resolved.state, resolved.connection
    context = {
        "r": resolved,
        "state": state,
        "presets": [(days, state.with_days(days)) for days in PRESET_DAYS],
        "default_days": DEFAULT_WINDOW_DAYS,
        "compare_on_query": state.query(compare=True),
        "compare_off_query": state.query(compare=False),
        "clear_filters_query": state.query(platform=None, path_prefix=None, priority=False, page=1),
    }
    if resolved.shown_connection is None:
        context["register_url"] = request.build_absolute_uri(
            reverse("connections", kwargs={"brand_id": resolved.brand.pk})
        )
    if connection is not None:
        context |= _report(connection, state, resolved.filters)
    if resolved.shown_connection is not None:
        shown = resolved.shown_connection
        label, tone = connection_health(shown, now=timezone.now())
        context |= {
            "health": {"label": label, "tone": tone},
            "pushes": dashboard_recent_pushes(connection=shown),
            "dropped": dashboard_dropped_referrers(connection=shown),
            "crawl": dashboard_website_crawl(brand_id=shown.brand_id, website=shown.website),
            "events_url": request.build_absolute_uri(
                reverse(
                    "push-events", kwargs={"brand_id": shown.brand_id, "connection_id": shown.pk}
                )
            ),
        }
    if resolved.shown_agent_connection is not None:
        context["agents"] = _agents(request, resolved)
    return render(request, "dashboard/index.html", context)


def _agents(request, resolved: Resolved) -> dict:
    """The "AI agents" section: the report of the active agent connection and the health of
    the one shown (the active one, else the newest disabled one)."""
    shown, connection = resolved.shown_agent_connection, resolved.agent_connection
    section = {"connection": shown, "active": connection is not None, "has_data": False}
    if connection is not None:
        section |= agent_section.agents_report(
            connection=connection, window=resolved.state.window, filters=resolved.filters
        )
    label, tone = connection_health(shown, now=timezone.now())
    if section["has_data"]:
        section["tables"] = [
            ("By platform", "agent-platforms-table", section["platforms"]),
            ("By purpose", "agent-purposes-table", section["purposes"]),
            ("By agent", "agent-agents-table", section["agents"]),
        ]
    return section | {
        "health": {"label": label, "tone": tone},
        "pushes": agent_section.agent_recent_pushes(connection=shown),
        "dropped": agent_section.agent_dropped(connection=shown),
        "events_url": request.build_absolute_uri(
            reverse(
                "agent-push-events", kwargs={"brand_id": shown.brand_id, "connection_id": shown.pk}
            )
        ),
    }


CSV_REFUSED = (
    "No CSV was made: its query string asks for something the dashboard cannot show (the "
    "dashboard, opened with the same query string, shows a default instead):"
)


def _csv_export(request, *, agents: bool):
    """The current view's referral rows (or agent rows) as CSV; a bad parameter is a 400 here
    (there is no page to explain it)."""
    resolved = _resolve(request)
    if resolved is None:
        raise Http404("No such brand.")
    if resolved.messages:
        # The notices say what the dashboard shows instead; a file has to be what was asked.
        reasons = "".join(f"\n- {message}" for message in resolved.messages)
        return HttpResponseBadRequest(
            f"{CSV_REFUSED}{reasons}\n", content_type="text/plain; charset=utf-8"
        )
    state = resolved.state
    connection = resolved.agent_connection if agents else resolved.connection
    export_rows = agent_section.agent_export_rows if agents else dashboard_export_rows
    lines = agent_csv_lines if agents else csv_lines
    rows = (
        export_rows(connection=connection, window=state.window, filters=resolved.filters)
        if connection is not None
        else ()
    )
    response = StreamingHttpResponse(
        lines(rows, website=state.website or ""), content_type="text/csv; charset=utf-8"
    )
    naming = {"prefix": "ai-agents"} if agents else {}
    filename = export_filename(
        brand_id=state.brand_id,
        website=state.website or "none",
        start=state.start,
        end=state.end,
        **naming,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@login_required
@cache_control(private=True, no_cache=True)
def export_csv(request):
    """The current view as CSV."""
    return _csv_export(request, agents=False)


@require_safe
@login_required
@cache_control(private=True, no_cache=True)
def export_agents_csv(request):
    """The AI-agents section of the current view as CSV: hits per day x agent x page."""
    return _csv_export(request, agents=True)
