"""The dashboard's "AI agents" section: reads and their shaping for the template.

Reads follow the website's active agent connection (referrals.reporting.agents). The KPIs,
the daily chart and the purpose and agent tables come from the agent rollup (DailyAgentTotal,
one row per day and agent: one query, and one more for the previous period); the top fetched
pages from the rows, through the index-only `agent_row_window` on PostgreSQL (two queries:
the ranking, then the agents of the top pages). Health: the connection, its recent pushes
and the user agents it dropped. Seven queries in all; every one filters on the brand.

Exploring filters: a platform keeps the agents of that platform (the rollup, by agent); page
filters keep the hits on those pages, read from the rows (the agent rollup has no page).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import F, Max

from referrals.dashboard import charts
from referrals.dashboard.metrics import change, days_between, platform_color, ratio
from referrals.dashboard.selectors import NO_FILTERS, Filters, filters_apply
from referrals.models import AIAgent, Connection, DroppedUserAgent, PushLog
from referrals.reporting.agents import (
    HIT_SUMS,
    ROLLUP_SUMS,
    agent_daily_counted,
    agent_rows_counted,
)
from referrals.reporting.window import Window

TOP_PAGES = 10
RECENT_PUSHES = 10
TOP_DROPPED = 10
EXPORT_CHUNK_SIZE = 2000
PURPOSES = dict(AIAgent.PURPOSE_CHOICES)


@dataclass(frozen=True)
class AgentPoint:
    """The hits of one (day, agent) of the window."""

    day: date
    agent: str
    operator: str
    purpose: str
    platform: str
    slug: str
    hits: int
    verified: int


@dataclass(frozen=True)
class Share:
    """A row of a breakdown table: a name, its hits, verified hits and share of all hits."""

    name: str
    hits: int
    verified: int
    share: Decimal | None
    color: str = ""
    detail: str = ""

    @property
    def verified_share(self) -> Decimal | None:
        return ratio(self.verified, self.hits)


@dataclass(frozen=True)
class AgentPage:
    page_id: int
    url: str
    raw_page_value: str
    hits: int
    agents: list[tuple[str, str, int]] = field(default_factory=list)  # name, color, hits

    @property
    def href(self) -> str | None:
        """A link only for path pages on http(s): an Adobe page name could be `javascript:`."""
        if self.raw_page_value.startswith("/") and self.url.startswith(("https://", "http://")):
            return self.url
        return None


# --- reads ---------------------------------------------------------------------------------


def _agent_source(*, connection: Connection, window: Window, filters: Filters):
    """The rollup's days of the window (its rows when pages are filtered), and their sums."""
    if filters.pages is not None:
        source = agent_rows_counted(connection=connection, window=window).filter(
            page_id__in=filters.pages
        )
        sums = HIT_SUMS
    else:
        source = agent_daily_counted(connection=connection).filter(
            date__range=(window.start, window.end)
        )
        sums = ROLLUP_SUMS
    if filters.platform_id is not None:
        source = source.filter(agent__platform_id=filters.platform_id)
    return source.order_by(), sums


def _agent_rows(*, connection: Connection, window: Window, filters: Filters):
    rows = agent_rows_counted(connection=connection, window=window)
    return filters_apply(rows, filters, platform="agent__platform_id")


def agent_series(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> list[AgentPoint]:
    """Hits per (day, agent) of the window, from the rollup (one query)."""
    source, sums = _agent_source(connection=connection, window=window, filters=filters)
    rows = (
        source.values(
            "date",
            "agent__name",
            "agent__operator",
            "agent__purpose",
            "agent__platform__name",
            "agent__platform__slug",
        )
        .annotate(**sums)
        .order_by("date", "agent__name")
    )
    return [
        AgentPoint(
            day=row["date"],
            agent=row["agent__name"],
            operator=row["agent__operator"],
            purpose=row["agent__purpose"],
            platform=row["agent__platform__name"],
            slug=row["agent__platform__slug"],
            hits=int(row["sum_hits"]),
            verified=int(row["sum_verified"]),
        )
        for row in rows
    ]


def agent_latest_date(*, connection: Connection) -> date | None:
    """The latest day with counted agent rows: the default window ends there."""
    return agent_daily_counted(connection=connection).aggregate(latest=Max("date"))["latest"]


def agent_hits(*, connection: Connection, window: Window, filters: Filters = NO_FILTERS) -> int:
    source, sums = _agent_source(connection=connection, window=window, filters=filters)
    return int(source.aggregate(**sums)["sum_hits"])


def agent_top_pages(
    *, connection: Connection, window: Window, limit: int = TOP_PAGES, filters: Filters = NO_FILTERS
):
    """The most fetched pages with the agents that fetch them: (pages, number of pages)."""
    rows = _agent_rows(connection=connection, window=window, filters=filters)
    ranking = list(
        rows.values("page_id")
        .annotate(**HIT_SUMS)
        .order_by(F("sum_hits").desc(), "page_id")
        .values_list("page_id", "sum_hits")
    )
    top = ranking[:limit]
    if not top:
        return [], 0
    found: dict[int, dict] = {}
    for row in (
        rows.filter(page_id__in=[page_id for page_id, _ in top], page__brand_id=connection.brand_id)
        .values(
            "page_id", "page__url", "page__raw_page_value", "agent__name", "agent__platform__slug"
        )
        .annotate(**HIT_SUMS)
    ):
        entry = found.setdefault(row["page_id"], {"row": row, "agents": []})
        color = platform_color(row["agent__platform__slug"])
        entry["agents"].append((row["agent__name"], color, int(row["sum_hits"])))
    pages = []
    for page_id, hits in top:
        entry = found[page_id]
        pages.append(
            AgentPage(
                page_id=page_id,
                url=entry["row"]["page__url"],
                raw_page_value=entry["row"]["page__raw_page_value"],
                hits=int(hits),
                agents=sorted(entry["agents"], key=lambda item: (-item[2], item[0])),
            )
        )
    return pages, len(ranking)


def agent_recent_pushes(*, connection: Connection, limit: int = RECENT_PUSHES) -> list[PushLog]:
    return list(
        PushLog.objects.filter(brand_id=connection.brand_id, connection_id=connection.pk).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def agent_dropped(*, connection: Connection, limit: int = TOP_DROPPED) -> list[DroppedUserAgent]:
    """The user agents dropped most often: candidates for the AI-agent list."""
    return list(
        DroppedUserAgent.objects.filter(
            brand_id=connection.brand_id, connection_id=connection.pk
        ).order_by("-count", "raw_user_agent")[:limit]
    )


def agent_export_rows(
    *, connection: Connection, window: Window, filters: Filters = NO_FILTERS
) -> Iterator[dict]:
    """Hits per day x agent x page, streamed from a server-side cursor where available."""
    return (
        _agent_rows(connection=connection, window=window, filters=filters)
        .filter(page__brand_id=connection.brand_id)
        .values(
            "date",
            "agent__name",
            "agent__purpose",
            "agent__platform__name",
            "page_id",
            "page__raw_page_value",
            "page__url",
        )
        .annotate(**HIT_SUMS)
        .order_by("date", "agent__name", "page_id")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )


# --- shaping -------------------------------------------------------------------------------


def _shares(groups: dict[str, tuple[int, int, str, str]], total: int) -> list[Share]:
    rows = [
        Share(name, hits, verified, ratio(hits, total), color, detail)
        for name, (hits, verified, color, detail) in groups.items()
    ]
    return sorted(rows, key=lambda row: (-row.hits, row.name))


def _grouped(points: list[AgentPoint], key, color, detail) -> dict[str, tuple[int, int, str, str]]:
    groups: dict[str, tuple[int, int, str, str]] = {}
    for p in points:
        hits, verified, _, _ = groups.get(key(p), (0, 0, "", ""))
        groups[key(p)] = (hits + p.hits, verified + p.verified, color(p), detail(p))
    return groups


def agents_report(*, connection: Connection, window: Window, filters: Filters = NO_FILTERS) -> dict:
    """The section's context; `has_data` False (after one query) for an empty window."""
    points = agent_series(connection=connection, window=window, filters=filters)
    if not points:
        return {"has_data": False}
    hits = sum(p.hits for p in points)
    verified = sum(p.verified for p in points)
    previous = agent_hits(connection=connection, window=window.previous, filters=filters)
    platforms = _shares(
        _grouped(points, lambda p: p.platform, lambda p: platform_color(p.slug), lambda p: ""),
        hits,
    )
    purposes = _shares(
        _grouped(points, lambda p: PURPOSES.get(p.purpose, p.purpose), lambda p: "", lambda p: ""),
        hits,
    )
    agents = _shares(
        _grouped(
            points,
            lambda p: p.agent,
            lambda p: platform_color(p.slug),
            lambda p: f"{p.operator} · {PURPOSES.get(p.purpose, p.purpose)} · {p.platform}",
        ),
        hits,
    )
    days = days_between(window.start, window.end)
    index = {day: i for i, day in enumerate(days)}
    values = {p.name: [0] * len(days) for p in platforms}
    for p in points:
        values[p.platform][index[p.day]] += p.hits
    series = [charts.Series(p.name, p.color, values[p.name]) for p in platforms]
    chart = charts.stacked_bars(days=days, series=series, unit="agent hit")
    pages, page_count = agent_top_pages(connection=connection, window=window, filters=filters)
    return {
        "has_data": True,
        "hits": hits,
        "previous_hits": previous,
        "hits_change": change(hits, previous),
        "verified_share": ratio(verified, hits),
        "agent_count": len(agents),
        "page_count": page_count,
        "platforms": platforms,
        "purposes": purposes,
        "agents": agents,
        "chart": chart,
        "chart_data": {
            "days": [day.isoformat() for day in days],
            "series": [{"platform": s.name, "color": s.color, "hits": s.values} for s in series],
        },
        "pages": pages,
    }
