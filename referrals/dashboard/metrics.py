"""Turn the dashboard selectors' rows into KPIs, the platform table and the chart.

Decisions where the spec is silent:
- Every KPI's change is relative (+12.5 %), rates included; "—" when the previous value is 0
  or undefined (no sessions), since no percentage exists then.
- Platforms are ordered by sessions in the window (most first, then name); each keeps a
  fixed colour (by slug) across views, so ChatGPT is the same green on every page.
"""

import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from referrals.dashboard import charts
from referrals.dashboard.formatting import (
    NONE,
    count,
    money,
    percent,
)
from referrals.dashboard.selectors import SeriesPoint, Totals

# Well separated hues, so neighbours in a stack stay apart; brand-like where it helps.
PLATFORM_COLORS = {
    "chatgpt": "#10a37f",
    "perplexity": "#7b61ff",
    "gemini": "#f2b100",
    "claude": "#d97757",
    "copilot": "#0078d4",
    "deepseek": "#e15759",
    "meta_ai": "#59a1e8",
    "grok": "#4a4a4a",
    "mistral": "#b07aa1",
}
FALLBACK_COLORS = (
    "#9c755f",
    "#76b7b2",
    "#c2417a",
    "#59a14f",
    "#8c8c3a",
    "#5f6b7a",
    "#ff9da7",
    "#2f4b7c",
)


def platform_color(slug: str) -> str:
    return PLATFORM_COLORS.get(slug) or FALLBACK_COLORS[zlib.crc32(slug.encode()) % 8]


def ratio(numerator, denominator) -> Decimal | None:
    return None if not denominator else Decimal(numerator) / Decimal(denominator)


def change(current, previous) -> Decimal | None:
    """Relative change in percent; None when there is nothing to compare with."""
    if previous is None or current is None or not previous:
        return None
    return (Decimal(current) - Decimal(previous)) / Decimal(previous) * 100


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    previous: str
    change: Decimal | None

    @property
    def direction(self) -> str:
        if self.change is None or abs(self.change) < Decimal("0.05"):
            return "flat"
        return "up" if self.change > 0 else "down"

    @property
    def change_text(self) -> str:
        if self.change is None:
            return NONE
        arrow = {"up": "▲ ", "down": "▼ ", "flat": ""}[self.direction]
        return f"{arrow}{abs(self.change):.1f}%"


def kpis(current: Totals, previous: Totals) -> list[Kpi]:
    def kpi(label, now, before, fmt):
        return Kpi(label, fmt(now), fmt(before), change(now, before))

    return [
        kpi("AI sessions", current.sessions, previous.sessions, count),
        kpi("Pageviews", current.pageviews, previous.pageviews, count),
        kpi("Transactions", current.transactions, previous.transactions, count),
        kpi("Revenue", current.revenue, previous.revenue, money),
        kpi(
            "Conversion rate",
            ratio(current.transactions, current.sessions),
            ratio(previous.transactions, previous.sessions),
            lambda r: percent(r, 2),
        ),
        kpi(
            "Revenue per session",
            ratio(current.revenue, current.sessions),
            ratio(previous.revenue, previous.sessions),
            money,
        ),
    ]


@dataclass(frozen=True)
class PlatformRow:
    name: str
    slug: str
    color: str
    totals: Totals
    share: Decimal | None

    @property
    def conversion(self) -> Decimal | None:
        return ratio(self.totals.transactions, self.totals.sessions)


def totals_of(points: list[SeriesPoint]) -> Totals:
    return Totals(
        sessions=sum(p.sessions for p in points),
        pageviews=sum(p.pageviews for p in points),
        transactions=sum(p.transactions for p in points),
        revenue=sum((p.revenue for p in points), Decimal(0)),
    )


def platform_rows(points: list[SeriesPoint]) -> list[PlatformRow]:
    by_name: dict[str, list[SeriesPoint]] = {}
    for p in points:
        by_name.setdefault(p.platform, []).append(p)
    totals = {name: totals_of(cells) for name, cells in by_name.items()}
    all_sessions = sum(t.sessions for t in totals.values())
    rows = []
    for name, cells in by_name.items():
        slug, sums = cells[0].slug, totals[name]
        rows.append(
            PlatformRow(name, slug, platform_color(slug), sums, ratio(sums.sessions, all_sessions))
        )
    return sorted(rows, key=lambda r: (-r.totals.sessions, r.name))


@dataclass(frozen=True)
class Slice:
    name: str
    color: str
    sessions: int
    share: Decimal | None


def platform_split(sessions_by_platform: list[tuple[str, str, int]]) -> list[Slice]:
    """A page's sessions per platform, most first, with each one's share of the page."""
    total = sum(sessions for _, _, sessions in sessions_by_platform)
    return [
        Slice(name, platform_color(slug), sessions, ratio(sessions, total))
        for name, slug, sessions in sessions_by_platform
    ]


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def daily_sessions(
    points: list[SeriesPoint], platforms: list[PlatformRow], start: date, end: date
) -> tuple[list[date], dict[str, list[int]]]:
    """Sessions per platform for every day of the window, zero-filled."""
    days = days_between(start, end)
    index = {day: i for i, day in enumerate(days)}
    values = {p.name: [0] * len(days) for p in platforms}
    for p in points:
        values[p.platform][index[p.day]] += p.sessions
    return days, values


def previous_sessions(days: dict[date, Totals], window) -> list[int]:
    """The sessions of every day of `window` (the previous period), zero-filled."""
    return [
        days[day].sessions if day in days else 0 for day in days_between(window.start, window.end)
    ]


def sessions_chart(
    points: list[SeriesPoint],
    platforms: list[PlatformRow],
    start: date,
    end: date,
    *,
    overlay: list[int] | None = None,
) -> tuple[charts.StackedBarChart, dict]:
    """The SVG geometry and the same numbers as plain data (for `json_script`); `overlay` is
    the previous period's sessions per day."""
    days, values = daily_sessions(points, platforms, start, end)
    # The biggest platform sits at the bottom of each stack, where it is easiest to read.
    series = [charts.Series(p.name, p.color, values[p.name]) for p in platforms]
    chart = charts.stacked_bars(days=days, series=series, overlay=overlay)
    data = {
        "days": [day.isoformat() for day in days],
        "series": [{"platform": s.name, "color": s.color, "sessions": s.values} for s in series],
    }
    if overlay is not None:
        data["previous"] = overlay
    return chart, data


STALE_AFTER = timedelta(hours=48)


def connection_health(connection, *, now) -> tuple[str, str]:
    """A one-word verdict and its tone (ok, warn, bad, idle) for the health panel."""
    if connection is None:
        return "No connection", "idle"
    if not connection.is_active:
        return "Disabled", "bad"
    if connection.last_push_error:
        return "Last push failed", "bad"
    if connection.last_pushed_at is None:
        return "Waiting for first push", "idle"
    if now - connection.last_pushed_at > STALE_AFTER:
        return "Stale", "warn"
    return "Healthy", "ok"
