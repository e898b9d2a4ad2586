"""Dashboard exploring (issue 17): platform, section and priority filters, the page view, the
previous-period overlay. Every number is checked against the Sitemap API for the same filters
and against a GROUP BY of the stored rows; every CSV against the filtered rows."""

import csv
import io
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection as db

from referrals.dashboard import selectors
from referrals.dashboard import state as dashboard_state
from referrals.dashboard.selectors import dashboard_filters, dashboard_totals
from referrals.models import AIPlatform, PriorityPath, ReferralRow, SitemapPage
from referrals.reporting.window import Window
from referrals.sitemap.priority import priority_rules
from tests.dashboard import test_agents, test_views
from tests.factories import row

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
PAGE_URL = "/dashboard/page/"
EXPORT_URL = "/dashboard/export.csv"
WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
PREVIOUS = (date(2026, 4, 3), date(2026, 4, 30))
CURRENT = (date(2026, 5, 1), date(2026, 5, 28))
PLATFORMS = ("chatgpt", "claude", "perplexity", "gemini")
PATHS = ("/blog", "/blog/a", "/blog/b/c", "/blogger", "/docs/x", "/docs/y/z", "/pricing", "/")
NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "perplexity": "Perplexity", "gemini": "Gemini"}

FILTERS = [
    {},
    {"platform": "claude"},
    {"path_prefix": "/blog"},
    {"path_prefix": "/docs/"},
    {"priority": "1"},
    {"platform": "chatgpt", "path_prefix": "/blog"},
    {"platform": "perplexity", "priority": "1"},
    {"path_prefix": "/docs", "priority": "1"},
    {"platform": "gemini", "path_prefix": "/docs", "priority": "1"},
]


# The view tests' fixtures: a member of the brand's organization, logged in.
fast_password_hashing = test_views.fast_password_hashing
member, member_client = test_views.member, test_views.member_client


@pytest.fixture
def explored(connection):
    """Rows over both windows (and outside them), every platform and section; priority rules:
    the /docs/y section and the exact page /pricing."""
    rng = random.Random(17)
    day = PREVIOUS[0] - timedelta(days=3)
    while day <= CURRENT[1] + timedelta(days=2):
        for _ in range(3):
            platform = rng.choice(PLATFORMS)
            path = rng.choice(PATHS)
            if ReferralRow.objects.filter(
                connection=connection, date=day, raw_page_value=path, raw_referrer_value=platform
            ).exists():
                continue
            revenue = f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}"
            row(connection, day, platform, path, referrer=platform,
                sessions=rng.randint(1, 9), pageviews=rng.randint(1, 20),
                transactions=rng.randint(0, 2), revenue=revenue)  # fmt: skip
        day += timedelta(days=4 if day.day % 5 else 1)
    # Every filter combination of the link tests has rows, whatever the random draw.
    for platform in PLATFORMS:
        row(
            connection,
            "2026-05-06",
            platform,
            "/docs/y/z",
            referrer=f"{platform}.fixed",
            sessions=2,
        )
    row(connection, "2026-05-04", None, "/blog/a", sessions=1000)  # not an AI platform: not counted
    PriorityPath.objects.create(brand=connection.brand, path="/docs/y")
    PriorityPath.objects.create(
        brand=connection.brand, path="/pricing", match=PriorityPath.MATCH_EXACT
    )
    return connection


def kept_rows(connection, params: dict, window: tuple[date, date]) -> list[ReferralRow]:
    """The filter in Python: the rows of the window a view with `params` counts."""
    prefix = params.get("path_prefix", "").rstrip("/")
    rules = priority_rules(brand_id=connection.brand_id, website=connection.website)
    kept = []
    for r in ReferralRow.objects.filter(
        connection=connection, platform__isnull=False
    ).select_related("platform", "page"):
        if not window[0] <= r.date <= window[1]:
            continue
        if params.get("platform") and r.platform.slug != params["platform"]:
            continue
        path = r.page.path
        if "path_prefix" in params and not (path == prefix or path.startswith(prefix + "/")):
            continue
        if params.get("priority") and not any(
            rule.matches(website=connection.website, path=path) for rule in rules
        ):
            continue
        kept.append(r)
    return kept


def sums(rows) -> tuple[int, int, int, Decimal]:
    return (
        sum(r.sessions or 0 for r in rows),
        sum(r.pageviews or 0 for r in rows),
        sum(r.transactions or 0 for r in rows),
        sum((r.purchase_revenue or Decimal(0) for r in rows), Decimal(0)),
    )


def totals_tuple(totals) -> tuple[int, int, int, Decimal]:
    return (totals.sessions, totals.pageviews, totals.transactions, totals.revenue)


def sitemap_pages(api_client, brand_id: int, params: dict) -> list[dict]:
    """The Sitemap API's pages for the same page filters and window."""
    query = {**WINDOW, "limit": 100}
    if "path_prefix" in params:
        query["path_prefix"] = params["path_prefix"]
    if params.get("priority"):
        query["is_priority"] = "true"
    response = api_client.get(f"/v1/{brand_id}/sitemap/pages", query)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def sitemap_pages_with_sessions(api_client, brand_id: int, params: dict) -> list[dict]:
    name = NAMES.get(params.get("platform", ""))
    return [
        item
        for item in sitemap_pages(api_client, brand_id, params)
        if (
            item["ai_referrals"]["count_by_platform"].get(name)
            if name
            else item["ai_referrals"]["sessions"]
        )
    ]


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(p) or "none")
def test_every_panel_equals_the_sitemap_api_and_the_rows(
    member_client, api_client, explored, params
):
    response = member_client.get(URL, {**WINDOW, **params})
    assert response.status_code == 200
    context = response.context
    assert not context["r"].messages
    rows = kept_rows(explored, params, CURRENT)
    if not rows:
        assert context["has_data"] is False
        assert not sitemap_pages_with_sessions(api_client, explored.brand_id, params)
        return
    assert totals_tuple(context["totals"]) == sums(rows)
    previous = kept_rows(explored, params, PREVIOUS)
    assert context["kpis"][0].previous == f"{sums(previous)[0]:,}"

    # The Sitemap API, same page filters: its pages' sessions (of the platform when filtered).
    api = sitemap_pages(api_client, explored.brand_id, params)
    platform_name = NAMES.get(params.get("platform", ""))
    api_sessions = {
        item["id"]: (
            item["ai_referrals"]["count_by_platform"].get(platform_name, 0)
            if platform_name
            else item["ai_referrals"]["sessions"]
        )
        for item in api
    }
    assert context["totals"].sessions == sum(api_sessions.values())
    if not platform_name:
        assert context["totals"].pageviews == sum(i["ai_referrals"]["pageviews"] for i in api)

    # Platform table, chart, top pages: the same rows.
    by_platform = defaultdict(int)
    for r in rows:
        by_platform[r.platform.name] += r.sessions or 0
    assert {p.name: p.totals.sessions for p in context["platforms"]} == by_platform
    chart = context["chart_data"]
    assert {s["platform"]: sum(s["sessions"]) for s in chart["series"]} == by_platform
    top = {item.page_id: item.totals.sessions for item in context["top"].items}
    assert top == {pid: n for pid, n in api_sessions.items() if pid in top}
    assert context["top"].total == len({r.page_id for r in rows})
    if platform_name:
        assert all(
            [name for name, _, _ in item.sessions_by_platform] == [platform_name]
            for item in context["top"].items
        )

    # The CSV holds exactly the rows shown.
    export = member_client.get(EXPORT_URL, {**WINDOW, **params})
    assert export.status_code == 200
    lines = list(
        csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig")))
    )
    expected = defaultdict(int)
    for r in rows:
        expected[(r.date.isoformat(), r.platform.name, r.raw_page_value)] += r.sessions or 0
    assert {(x["date"], x["platform"], x["page"]): int(x["sessions"]) for x in lines} == expected
    assert len(lines) == len(expected)


def test_filters_stay_in_every_link_form_and_export(member_client, explored):
    params = {"platform": "chatgpt", "path_prefix": "/docs", "priority": "1"}
    response = member_client.get(URL, {**WINDOW, **params, "compare": "1"})
    assert response.context["has_data"]
    html = response.content.decode()
    query = "platform=chatgpt&amp;path_prefix=%2Fdocs&amp;priority=1"
    assert (
        f'/dashboard/export.csv?brand={explored.brand_id}&amp;website=example.com&amp;start_date=2026-05-01&amp;end_date=2026-05-28&amp;{query}"'
        in html
    )
    assert f"sort=pageviews&amp;{query}&amp;compare=1" in html
    for name, value in (("platform", "chatgpt"), ("path_prefix", "/docs"), ("priority", "1")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in html


def test_each_chip_removes_its_filter_in_one_click(member_client, explored):
    params = {"platform": "claude", "path_prefix": "/blog", "priority": "1"}
    resolved = member_client.get(URL, {**WINDOW, **params}).context["r"]
    chips = dict(resolved.chips)
    assert set(chips) == {"Platform: Claude", "Section: /blog", "Priority pages"}
    assert "platform=" not in chips["Platform: Claude"]
    assert "path_prefix=%2Fblog" in chips["Platform: Claude"]
    assert "path_prefix" not in chips["Section: /blog"]
    assert "priority" not in chips["Priority pages"]
    html = member_client.get(URL, {**WINDOW, **params}).content.decode()
    assert 'aria-label="Remove filter Platform: Claude"' in html
    assert "Clear all filters" in html


def test_clicking_a_platform_or_a_section_sets_the_filter(member_client, explored):
    html = member_client.get(URL, WINDOW).content.decode()
    assert 'class="platform-filter" href="?brand=' in html
    assert "&amp;platform=chatgpt" in html
    assert 'class="chip section-filter" href="?' in html
    assert "path_prefix=%2Fblog" in html and 'data-prefix="/docs"' in html
    # A breadcrumb for a nested section: every level is a link.
    html = member_client.get(URL, {**WINDOW, "path_prefix": "/docs/y"}).content.decode()
    assert ">All pages</a>" in html and 'path_prefix=%2Fdocs"' in html
    assert '<span aria-current="page">y</span>' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"platform": "nope"}, dashboard_state.UNKNOWN_PLATFORM.format(value="nope")),
        ({"path_prefix": "blog"}, dashboard_state.INVALID_PATH_PREFIX.format(value="blog")),
        ({"path_prefix": "/a?b"}, dashboard_state.INVALID_PATH_PREFIX.format(value="/a?b")),
        ({"path_prefix": "/" + "x" * 3000}, None),
        (
            {"priority": "2"},
            dashboard_state.INVALID_FLAG.format(
                value="2", name="priority", default="showing every page"
            ),
        ),
        (
            {"compare": "maybe"},
            dashboard_state.INVALID_FLAG.format(
                value="maybe", name="compare", default="without the previous period"
            ),
        ),
    ],
)
def test_a_bad_filter_shows_the_unfiltered_dashboard_with_a_notice(
    member_client, explored, params, message
):
    response = member_client.get(URL, {**WINDOW, **params})
    assert response.status_code == 200
    messages = response.context["r"].messages
    assert len(messages) == 1 and (message is None or messages == [message])
    assert not response.context["r"].chips
    assert totals_tuple(response.context["totals"]) == sums(kept_rows(explored, {}, CURRENT))
    # The CSV refuses it with the reason (there is no page to explain it).
    assert member_client.get(EXPORT_URL, {**WINDOW, **params}).status_code == 400


@pytest.mark.parametrize("value", ["0", "off", "False", ""])
def test_a_flag_turned_off_is_no_filter_and_no_notice(member_client, explored, value):
    response = member_client.get(URL, {**WINDOW, "priority": value, "compare": value})
    assert response.context["r"].messages == []
    assert not response.context["r"].state.priority and not response.context["r"].state.compare
    assert totals_tuple(response.context["totals"]) == sums(kept_rows(explored, {}, CURRENT))


def test_filter_values_are_escaped(member_client, explored):
    evil = '/"><script>alert(1)</script>'
    html = member_client.get(URL, {**WINDOW, "path_prefix": evil, "platform": "<b>x"}).content
    assert b"<script>alert(1)" not in html and b"<b>x" not in html


def test_a_section_without_pages_shows_no_data(member_client, explored):
    response = member_client.get(URL, {**WINDOW, "path_prefix": "/nothing-here"})
    assert response.status_code == 200
    assert response.context["has_data"] is False
    assert "Section: /nothing-here" in response.content.decode()


def test_agent_panel_follows_the_platform_filter(member_client, explored):
    # Without an agent connection there is no panel; the referral panels narrow alone.
    response = member_client.get(URL, {**WINDOW, "platform": "claude"})
    assert "agents" not in response.context


logs = test_agents.logs  # agent hits: /a 10 (GPTBot) + 4 (ClaudeBot), /b 5, /c 1 (Perplexity)


@pytest.mark.parametrize(
    ("params", "hits", "csv_rows"),
    [
        ({}, 20, 4),
        ({"platform": "claude"}, 4, 1),
        ({"path_prefix": "/a"}, 14, 2),
        ({"platform": "perplexity", "path_prefix": "/c"}, 1, 1),
        ({"platform": "claude", "path_prefix": "/b"}, 0, 0),
    ],
)
def test_the_agent_section_and_its_csv_follow_the_filters(
    member_client, logs, params, hits, csv_rows
):
    response = member_client.get(URL, {**WINDOW, **params})
    agents = response.context["agents"]
    assert (agents["hits"] if agents["has_data"] else 0) == hits
    export = member_client.get("/dashboard/agents.csv", {**WINDOW, **params})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) - 1 == csv_rows


@pytest.mark.parametrize(
    "window",
    [
        PREVIOUS,
        CURRENT,
        (date(2026, 3, 30), date(2026, 5, 2)),
        (date(2026, 4, 10), date(2026, 4, 12)),
        (date(2026, 2, 1), date(2026, 5, 20)),  # whole months, May minus its last 11 days
        (date(2026, 3, 25), date(2026, 6, 25)),  # March's last 7 days plus whole months
    ],
    ids=["previous", "current", "months-and-days", "days", "long-minus", "long-plus"],
)
@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(p) or "none")
def test_a_periods_totals_equal_its_rows(explored, params, window, monkeypatch):
    """The KPIs' previous period: for page filters on PostgreSQL over 90 days or more it is
    read from the page rollup (whole months, plus or minus the partial months' days), else
    from the days."""
    calls = []
    read = selectors.pages_totals
    monkeypatch.setattr(selectors, "pages_totals", lambda **kw: calls.append(1) or read(**kw))
    filters = dashboard_filters(
        brand_id=explored.brand_id,
        website=explored.website,
        platform_id=AIPlatform.objects.get(slug=params["platform"]).pk
        if "platform" in params
        else None,
        path_prefix=params.get("path_prefix"),
        priority=bool(params.get("priority")),
    )
    totals = dashboard_totals(connection=explored, window=Window(*window), filters=filters)
    assert totals_tuple(totals) == sums(kept_rows(explored, params, window))
    from_rollup = (
        db.vendor == "postgresql"
        and filters.pages is not None
        and filters.platform_id is None
        and Window(*window).days >= selectors.ROLLUP_TOTALS_DAYS
    )
    assert bool(calls) == from_rollup


# The previous-period overlay ------------------------------------------------------------------


def test_compare_draws_the_previous_period_as_a_line_with_a_table(member_client, explored):
    plain = member_client.get(URL, WINDOW)
    assert b"chart-overlay" not in plain.content and b"Previous period</th>" not in plain.content
    response = member_client.get(URL, {**WINDOW, "compare": "1", "platform": "chatgpt"})
    html = response.content.decode()
    assert '<polyline class="chart-overlay"' in html
    previous = kept_rows(explored, {"platform": "chatgpt"}, PREVIOUS)
    daily = defaultdict(int)
    for r in previous:
        daily[r.date] += r.sessions or 0
    overlay = response.context["chart_data"]["previous"]
    assert len(overlay) == 28
    assert overlay == [daily[PREVIOUS[0] + timedelta(days=i)] for i in range(28)]
    assert '<details class="chart-table">' in html and "Previous period</th>" in html
    assert "Hide previous period" in html
    # The export ignores the overlay (it is not a filter).
    assert member_client.get(EXPORT_URL, {**WINDOW, "compare": "1"}).status_code == 200


# A page's own view ----------------------------------------------------------------------------


def test_the_page_view_equals_the_sitemap_api(member_client, api_client, explored):
    page = SitemapPage.objects.get(brand=explored.brand, raw_page_value="/blog/a")
    # An UPDATE by brand and id: Citus refuses a save() that rewrites the distribution column.
    SitemapPage.objects.filter(brand=explored.brand, pk=page.pk).update(
        title="A <b>title</b>",
        description="About a",
        canonical_url=page.url,
        audit_score=70,
        audit_findings=[
            {"check": "structured_data", "lost": 10, "detail": "no ld+json"},
            {"check": "one_h1", "lost": 5, "detail": "2 h1"},
        ],
    )
    response = member_client.get(
        PAGE_URL, {"brand": explored.brand_id, "website": "example.com", "page": page.pk, **WINDOW}
    )
    assert response.status_code == 200
    context = response.context
    api = api_client.get(f"/v1/{explored.brand_id}/sitemap/pages/{page.pk}", WINDOW).json()
    totals = api["ai_referrals"]
    assert (context["totals"].sessions, context["totals"].pageviews) == (
        totals["sessions"],
        totals["pageviews"],
    )
    assert float(context["totals"].revenue.quantize(Decimal("0.01"))) == totals["purchase_revenue"]
    assert {p.name: p.totals.sessions for p in context["platforms"]} == totals["count_by_platform"]
    metrics = api_client.get(
        f"/v1/{explored.brand_id}/sitemap/pages/{page.pk}/metrics", WINDOW
    ).json()
    by_day = {b["date"]: b["count_by_platform"] for b in metrics["metrics"]["ai_referrals"]}
    chart = context["chart_data"]
    for i, day in enumerate(chart["days"]):
        shown = {s["platform"]: s["sessions"][i] for s in chart["series"] if s["sessions"][i]}
        assert shown == by_day[day]
    previous = sums([r for r in kept_rows(explored, {}, PREVIOUS) if r.page_id == page.pk])
    assert context["kpis"][0].previous == f"{previous[0]:,}"
    html = response.content.decode()
    assert "A &lt;b&gt;title&lt;/b&gt;" in html and "70 / 100" in html
    assert html.index("structured_data") < html.index("one_h1")  # most points lost first
    assert f'id="live-url" href="{page.url}"' in html
    assert f'id="back-to-dashboard" href="/dashboard/?brand={explored.brand_id}' in html


def test_top_pages_link_to_the_page_view_and_the_live_url(member_client, explored):
    html = member_client.get(URL, WINDOW).content.decode()
    page = SitemapPage.objects.get(brand=explored.brand, raw_page_value="/docs/x")
    assert f"/dashboard/page/?brand={explored.brand_id}&amp;website=example.com" in html
    assert f'&amp;page={page.pk}"' in html
    assert f'class="live-url" href="{page.url}"' in html


def test_the_live_url_is_a_link_only_for_http_pages(member_client, connection):
    row(connection, "2026-05-10", "chatgpt", "javascript:alert(1)", sessions=3)
    page = SitemapPage.objects.get(brand=connection.brand, raw_page_value="javascript:alert(1)")
    html = member_client.get(
        PAGE_URL, {"brand": connection.brand_id, "page": page.pk, **WINDOW}
    ).content.decode()
    assert 'id="live-url"' not in html and 'href="javascript:' not in html


@pytest.mark.parametrize("case", ["other_brand", "missing", "malformed", "invisible_brand"])
def test_a_page_outside_the_users_brands_is_404(member_client, explored, other_brand, case):
    other = SitemapPage.objects.create(
        brand=other_brand,
        website="example.com",
        raw_page_value="/x",
        page_key="k",
        url="u",
        path="/x",
    )
    params = {
        "other_brand": {"brand": explored.brand_id, "page": other.pk},
        "missing": {"brand": explored.brand_id, "page": 10**12},
        "malformed": {"brand": explored.brand_id, "page": "1x"},
        "invisible_brand": {"brand": other_brand.pk, "page": other.pk},
    }[case]
    response = member_client.get(PAGE_URL, params)
    assert response.status_code == 404
    assert b"/x" not in response.content


def test_the_page_view_with_compare(member_client, explored):
    page = SitemapPage.objects.get(brand=explored.brand, raw_page_value="/pricing")
    response = member_client.get(
        PAGE_URL, {"brand": explored.brand_id, "page": page.pk, "compare": "1", **WINDOW}
    )
    assert response.status_code == 200
    assert b'<polyline class="chart-overlay"' in response.content
