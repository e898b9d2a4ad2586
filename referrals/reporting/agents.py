"""Which agent-traffic rows a read counts, how they sum, and the daily agent rollup.

As for referrals: the rows of the website's active agent connection, with an agent, in the
window; rows kept on a disabled connection and rows no agent matches any more never count.
Every query filters on brand_id first (the distribution column on Citus). Hits are counted
for the agent's platform (display name), by the agent's purpose; `verified` hits are those
whose sender checked the agent's IP (a null `verified` counts as not verified).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection as db
from django.db.models import Case, QuerySet, Sum, When
from django.db.models.functions import Coalesce

from referrals.models import KIND_AGENT, AgentTrafficRow, Connection, DailyAgentTotal
from referrals.reporting.rows import connection_active
from referrals.reporting.window import Window

HIT_SUMS = {
    "sum_hits": Coalesce(Sum("hits"), 0),
    "sum_verified": Coalesce(Sum(Case(When(verified=True, then="hits"), default=0)), 0),
}
ROLLUP_SUMS = {
    "sum_hits": Coalesce(Sum("hits"), 0),
    "sum_verified": Coalesce(Sum("verified_hits"), 0),
}
# Beyond this many distinct days a push's days are refreshed as one range (still exact).
_MAX_LISTED_DAYS = 400


@dataclass(frozen=True)
class AgentTotals:
    """Agent hits of a window, a page or a bucket, with hits per platform display name."""

    hits: int = 0
    verified: int = 0
    platform_hits: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: "AgentTotals") -> "AgentTotals":
        split = dict(self.platform_hits)
        for name, hits in other.platform_hits.items():
            split[name] = split.get(name, 0) + hits
        return AgentTotals(self.hits + other.hits, self.verified + other.verified, split)

    @classmethod
    def of(cls, sums: dict, *, platform: str | None = None) -> "AgentTotals":
        hits = int(sums["sum_hits"])
        split = {platform: hits} if platform is not None and hits else {}
        return cls(hits=hits, verified=int(sums.get("sum_verified") or 0), platform_hits=split)

    @property
    def count_by_platform(self) -> dict[str, int]:
        """Platforms with hits, most first, then by name (as `count_by_platform` of referrals)."""
        ranked = sorted(self.platform_hits.items(), key=lambda item: (-item[1], item[0]))
        return {name: hits for name, hits in ranked if hits}


def agent_connection_active(*, brand_id: int, website: str) -> Connection | None:
    """The agent connection whose rows the reads of a website count, if any."""
    return connection_active(brand_id=brand_id, website=website, kind=KIND_AGENT)


def agent_rows_counted(*, connection: Connection | None, window: Window) -> QuerySet:
    """The counted AgentTrafficRows of a window (none without an active agent connection)."""
    if connection is None:
        return AgentTrafficRow.objects.none()
    return AgentTrafficRow.objects.filter(
        brand_id=connection.brand_id,
        connection_id=connection.pk,
        date__gte=window.start,
        date__lte=window.end,
        agent__isnull=False,
    ).order_by()


def agent_daily_counted(*, connection: Connection | None) -> QuerySet:
    """The agent rollup of a connection (it holds counted rows only)."""
    if connection is None:
        return DailyAgentTotal.objects.none()
    return DailyAgentTotal.objects.filter(
        brand_id=connection.brand_id, connection_id=connection.pk
    ).order_by()


def agent_rollup_refresh(*, connection: Connection, days: Iterable[date] | None = None) -> None:
    """Recompute the rollup of these days of a connection (every day when None) from its rows.

    Two statements, both on the brand's shard: delete the days' totals, insert the GROUP BY of
    the days' rows (index-only on PostgreSQL through `agent_row_window`). The caller holds the
    transaction, and, for a push, the connection's row lock, so no other write to these rows
    runs in between and the rollup stays exact.
    """
    rows, totals = AgentTrafficRow._meta.db_table, DailyAgentTotal._meta.db_table
    where, params = "brand_id = %s AND connection_id = %s", [connection.brand_id, connection.pk]
    if days is not None:
        listed = sorted(set(days))
        if not listed:
            return
        adapt = db.ops.adapt_datefield_value
        if len(listed) <= _MAX_LISTED_DAYS:
            where += f" AND date IN ({', '.join(['%s'] * len(listed))})"
            params += [adapt(day) for day in listed]
        else:
            where += " AND date BETWEEN %s AND %s"
            params += [adapt(listed[0]), adapt(listed[-1])]
    with db.cursor() as cursor:
        cursor.execute(f"DELETE FROM {totals} WHERE {where}", params)
        cursor.execute(
            f"INSERT INTO {totals} (brand_id, connection_id, date, agent_id, row_count, hits, "
            f"verified_hits) SELECT brand_id, connection_id, date, agent_id, COUNT(*), SUM(hits), "
            f"SUM(CASE WHEN verified THEN hits ELSE 0 END) FROM {rows} "
            f"WHERE {where} AND agent_id IS NOT NULL "
            "GROUP BY brand_id, connection_id, date, agent_id",
            params,
        )
