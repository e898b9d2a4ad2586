"""The one totals type of every read."""

from decimal import Decimal

from referrals.reporting.totals import Totals

SUMS = {"sum_sessions": 7, "sum_pageviews": 10, "sum_transactions": 1, "sum_revenue": "42.505"}


def test_totals_of_grouped_sums_add_up_per_platform():
    total = Totals()
    total += Totals.of(SUMS, platform="ChatGPT")
    total += Totals.of({**SUMS, "sum_sessions": 9}, platform="Claude")
    total += Totals.of({**SUMS, "sum_sessions": 2}, platform="ChatGPT")
    assert (total.sessions, total.pageviews, total.transactions) == (18, 30, 3)
    assert total.revenue == Decimal("127.515")
    assert total.count_by_platform == {"ChatGPT": 9, "Claude": 9}  # ties by name
    assert list(total.count_by_platform) == ["ChatGPT", "Claude"]


def test_platforms_without_sessions_are_left_out_and_revenue_rounds_half_up():
    total = Totals.of({**SUMS, "sum_sessions": 0}, platform="Gemini")
    assert total.count_by_platform == {}
    assert total.purchase_revenue == 42.51
    assert Totals.of(SUMS).platform_sessions == {}
