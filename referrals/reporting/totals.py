"""Metric totals of counted rows: the sums every read asks the database for, and their type."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce

_ZERO_REVENUE = Value(Decimal(0), output_field=DecimalField(max_digits=17, decimal_places=4))
_CENT = Decimal("0.01")

# A NULL metric counts as 0. Annotation names must not shadow the models' fields (ReferralRow
# and DailyPlatformTotal name their metrics alike, so these sums serve both).
METRIC_SUMS = {
    "sum_sessions": Coalesce(Sum("sessions"), 0),
    "sum_pageviews": Coalesce(Sum("pageviews"), 0),
    "sum_transactions": Coalesce(Sum("transactions"), 0),
    "sum_revenue": Coalesce(Sum("purchase_revenue"), _ZERO_REVENUE),
}


@dataclass(frozen=True)
class Totals:
    """AI-referral totals of a window, a page, a platform or a bucket.

    `platform_sessions` holds AI sessions per platform display name when the sums were
    grouped by platform (empty otherwise).
    """

    sessions: int = 0
    pageviews: int = 0
    transactions: int = 0
    revenue: Decimal = Decimal(0)
    platform_sessions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, sums: dict, *, platform: str | None = None) -> "Totals":
        """Totals of one row of METRIC_SUMS (grouped by `platform`, when given)."""
        totals = cls.of_sums(*(sums[name] for name in METRIC_SUMS))
        if platform is not None:
            totals.platform_sessions[platform] = totals.sessions
        return totals

    @classmethod
    def of_sums(cls, sessions, pageviews, transactions, revenue) -> "Totals":
        """Totals of the four sums in METRIC_SUMS order, as the database returns them
        (sum(bigint) is numeric on PostgreSQL: a Decimal until made an int)."""
        return cls(
            sessions=int(sessions),
            pageviews=int(pageviews),
            transactions=int(transactions),
            revenue=Decimal(revenue),
        )

    def __add__(self, other: "Totals") -> "Totals":
        split = dict(self.platform_sessions)
        for name, sessions in other.platform_sessions.items():
            split[name] = split.get(name, 0) + sessions
        return Totals(
            sessions=self.sessions + other.sessions,
            pageviews=self.pageviews + other.pageviews,
            transactions=self.transactions + other.transactions,
            revenue=self.revenue + other.revenue,
            platform_sessions=split,
        )

    @property
    def purchase_revenue(self) -> float:
        """Revenue as the API shows it: a JSON number rounded half-up to cents."""
        return float(self.revenue.quantize(_CENT, rounding=ROUND_HALF_UP))

    @property
    def count_by_platform(self) -> dict[str, int]:
        """Platforms with at least one AI session, most sessions first, then by name."""
        counted = [(name, n) for name, n in self.platform_sessions.items() if n > 0]
        return dict(sorted(counted, key=lambda item: (-item[1], item[0])))
