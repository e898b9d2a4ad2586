"""The Sitemap API's `agent_traffic`: hits of AI agents per page (totals, series, export).

Reads follow the website's active agent connection (referrals.reporting.agents). Totals and
buckets key `count_by_platform` by the agent's platform display name, platforms with hits
only, most hits first, then by name, as `ai_referrals` does with sessions.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from referrals.models import Connection, SitemapPage
from referrals.reporting.agents import HIT_SUMS, AgentTotals, agent_rows_counted
from referrals.reporting.window import Window


@dataclass(frozen=True)
class AgentBucket:
    date: date
    hits: int
    count_by_platform: dict[str, int]


@dataclass
class AgentExportTotals:
    totals: AgentTotals
    first_bucket_hits: int = 0
    last_bucket_hits: int = 0

    @property
    def change_pct(self) -> float | None:
        """Percent change of hits from the first to the last bucket; None from 0."""
        if not self.first_bucket_hits:
            return None
        change = self.last_bucket_hits - self.first_bucket_hits
        return round(change * 100 / self.first_bucket_hits, 1)


def agent_totals_attach(
    pages: list[SitemapPage], *, connection: Connection | None, window: Window
) -> None:
    """Set `page.agent_traffic` on every page: one query, sums by page and platform."""
    totals = {page.pk: AgentTotals() for page in pages}
    if totals and connection is not None:
        groups = (
            agent_rows_counted(connection=connection, window=window)
            .filter(page_id__in=list(totals))
            .values("page_id", "agent__platform__name")
            .annotate(**HIT_SUMS)
        )
        for group in groups:
            totals[group["page_id"]] += AgentTotals.of(
                group, platform=group["agent__platform__name"]
            )
    for page in pages:
        page.agent_traffic = totals[page.pk]


def agent_page_series(
    *, page: SitemapPage, connection: Connection | None, window: Window
) -> list[AgentBucket]:
    """Hits per platform in every bucket of the window, zero-filled (one query)."""
    per_bucket = {bucket: AgentTotals() for bucket in window.buckets()}
    if connection is not None:
        groups = (
            agent_rows_counted(connection=connection, window=window)
            .filter(page_id=page.pk)
            .values("date", "agent__platform__name")
            .annotate(sum_hits=Coalesce(Sum("hits"), 0))
        )
        for group in groups:
            bucket = window.bucket_of(group["date"])
            per_bucket[bucket] += AgentTotals.of(group, platform=group["agent__platform__name"])
    return [
        AgentBucket(day, totals.hits, totals.count_by_platform)
        for day, totals in per_bucket.items()
    ]


def agent_export_totals(
    *, pages: QuerySet, connection: Connection | None, window: Window
) -> dict[int, AgentExportTotals]:
    """The window's hits of every filtered page, with its first and last bucket's (one query)."""
    found: dict[int, AgentExportTotals] = {}
    if connection is None:
        return found
    first, last = window.first_bucket(), window.last_bucket()
    groups = (
        agent_rows_counted(connection=connection, window=window)
        .filter(page__in=pages.order_by().values("pk"))
        .values("page_id", "agent__platform__name")
        .annotate(
            **HIT_SUMS,
            first_hits=Sum("hits", filter=Q(date__range=first)),
            last_hits=Sum("hits", filter=Q(date__range=last)),
        )
    )
    for group in groups:
        entry = found.setdefault(group["page_id"], AgentExportTotals(AgentTotals()))
        entry.totals += AgentTotals.of(group, platform=group["agent__platform__name"])
        entry.first_bucket_hits += int(group["first_hits"] or 0)
        entry.last_bucket_hits += int(group["last_hits"] or 0)
    return found
