"""Page sums (monthly rollup and rows) equal the rows' over any window: month edges, leap days."""

import random
from datetime import date, timedelta

import pytest
from django.db.models import Sum

from referrals.models import SitemapPage
from referrals.reporting.pages import (
    WindowParts,
    page_count,
    page_ranking,
    pages_by_sessions,
    window_parts,
)
from referrals.reporting.rows import rows_counted
from referrals.reporting.window import Window
from tests.factories import event, push

D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        # a whole month
        ("2026-05-01", "2026-05-31", WindowParts(months=(D("2026-05-01"), D("2026-05-01")))),
        # a few days inside one month: those days
        ("2026-05-10", "2026-05-12", WindowParts(None, plus=[(D("2026-05-10"), D("2026-05-12"))])),
        # most of one month: the month minus the days at both ends
        (
            "2026-05-03",
            "2026-05-29",
            WindowParts(
                months=(D("2026-05-01"), D("2026-05-01")),
                minus=[(D("2026-05-01"), D("2026-05-02")), (D("2026-05-30"), D("2026-05-31"))],
            ),
        ),
        # across a month end, both parts small: one range of days
        ("2026-04-25", "2026-05-05", WindowParts(None, plus=[(D("2026-04-25"), D("2026-05-05"))])),
        # 28 days ending mid-month
        (
            "2026-10-24",
            "2026-11-20",
            WindowParts(
                months=(D("2026-11-01"), D("2026-11-01")),
                plus=[(D("2026-10-24"), D("2026-10-31"))],
                minus=[(D("2026-11-21"), D("2026-11-30"))],
            ),
        ),
        # 366 days over a leap day: 12 months minus the first day outside, plus a day
        (
            "2024-01-02",
            "2025-01-01",
            WindowParts(
                months=(D("2024-01-01"), D("2024-12-01")),
                plus=[(D("2025-01-01"), D("2025-01-01"))],
                minus=[(D("2024-01-01"), D("2024-01-01"))],
            ),
        ),
        # February of a leap year, 15 of 29 days inside: the month minus 14 days
        (
            "2024-02-15",
            "2024-02-29",
            WindowParts(
                months=(D("2024-02-01"), D("2024-02-01")),
                minus=[(D("2024-02-01"), D("2024-02-14"))],
            ),
        ),
    ],
)
def test_window_parts(start, end, parts):
    assert window_parts(Window(D(start), D(end))) == parts


def test_window_parts_of_the_last_calendar_month():
    """date.max's month has no next month to step to (OverflowError, a 500, before)."""
    assert window_parts(Window(D("9999-12-10"), D("9999-12-31"))) == WindowParts(
        months=(D("9999-12-01"), D("9999-12-01")), minus=[(D("9999-12-01"), D("9999-12-09"))]
    )


@pytest.mark.parametrize("seed", range(20))
def test_window_parts_cover_each_day_of_the_window_once(seed):
    rng = random.Random(seed)
    start = date(2023, 12, 1) + timedelta(days=rng.randrange(500))
    window = Window(start, start + timedelta(days=rng.randrange(366)))
    parts = window_parts(window)
    counts: dict[date, int] = {}

    def add(first: date, last: date, sign: int) -> None:
        day = first
        while day <= last:
            counts[day] = counts.get(day, 0) + sign
            day += timedelta(days=1)

    if parts.months:
        month_end = (parts.months[1].replace(day=28) + timedelta(days=4)).replace(day=1)
        add(parts.months[0], month_end - timedelta(days=1), 1)
    for first, last in parts.plus:
        add(first, last, 1)
    for first, last in parts.minus:
        add(first, last, -1)
    inside = {day for day, n in counts.items() if n}
    assert all(n in (0, 1) for n in counts.values())
    assert min(inside) == window.start and max(inside) == window.end
    assert len(inside) == window.days


WINDOWS = [
    ("2024-02-29", "2024-02-29"),  # the leap day alone
    ("2024-02-10", "2024-03-20"),  # mid-month to mid-month over the leap day
    ("2024-02-03", "2024-02-27"),  # most of one month
    ("2024-01-01", "2024-12-31"),  # whole months (366 days)
    ("2024-01-15", "2025-01-14"),  # 366 days, starting and ending mid-month
    ("2024-03-01", "2025-02-28"),  # 365 days, whole months
    ("2024-05-30", "2024-06-02"),  # a few days across a month end
]


@pytest.fixture
def history(api_client, connection, no_push_rate_limit):
    """Rows on random days of 14 months (and the leap day), on 12 pages; some not counted."""
    rng = random.Random(11)
    days = [D("2024-02-29")] + [
        date(2024, 1, 1) + timedelta(days=rng.randrange(425)) for _ in range(60)
    ]
    referrers = ["chatgpt.com", "claude.ai", "perplexity", "google.com"]
    batch = [
        event(
            date=day.isoformat(),
            raw_page_value=f"/p/{rng.randrange(12)}",
            raw_referrer_value=rng.choice(referrers),
            sessions=rng.choice([None, rng.randrange(50)]),
            pageviews=rng.randrange(90),
            transactions=rng.randrange(3),
            purchase_revenue=round(rng.random() * 100, 2),
        )
        for day in days
        for _ in range(3)
    ]
    response = push(api_client, connection, batch)
    assert response.status_code == 200, response.content
    assert (
        rows_counted(connection=connection, window=Window(D("2024-01-01"), D("2025-12-31"))).count()
        > 90
    )
    assert SitemapPage.objects.filter(brand_id=connection.brand_id).count() == 12


def rows_ranking(connection, window, column):
    sums = (
        rows_counted(connection=connection, window=window)
        .values("page_id")
        .annotate(total=Sum(column))
        .values_list("page_id", "total")
    )
    return sorted(((-(total or 0), page_id) for page_id, total in sums))


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(("start", "end"), WINDOWS)
@pytest.mark.parametrize(
    ("sort", "column"), [("sessions", "sessions"), ("revenue", "purchase_revenue")]
)
def test_ranking_equals_the_rows_over_any_window(connection, start, end, sort, column):
    window = Window(D(start), D(end))
    expected = [page_id for _, page_id in rows_ranking(connection, window, column)]
    ids, total = page_ranking(connection=connection, window=window, sort=sort, offset=0, limit=100)
    assert (ids, total) == (expected, len(expected))
    assert page_count(connection=connection, window=window) == len(expected)
    if len(expected) > 2:
        assert page_ranking(connection=connection, window=window, sort=sort, offset=1, limit=2) == (
            expected[1:3],
            len(expected),
        )


@pytest.mark.django_db
@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_pages_by_sessions_equals_the_rows_over_any_window(connection, start, end):
    window = Window(D(start), D(end))
    sessions = {page_id: -minus for minus, page_id in rows_ranking(connection, window, "sessions")}
    pages = SitemapPage.objects.filter(brand_id=connection.brand_id, website=connection.website)
    expected = [
        pk
        for _, _, pk in sorted(
            (-sessions.get(pk, 0), url, pk) for pk, url in pages.values_list("pk", "url")
        )
    ]
    sql = pages.order_by().values_list("id", "brand_id", "url").query.sql_with_params()
    assert pages_by_sessions(connection=connection, window=window, pages=sql) == expected
    assert (
        pages_by_sessions(connection=connection, window=window, pages=sql, offset=2, limit=3)
        == expected[2:5]
    )


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        # December of year 9999: the month's last day is date.max, no day follows it
        ("9999-01-01", "9999-12-31", WindowParts(months=(D("9999-01-01"), D("9999-12-01")))),
        ("9999-12-20", "9999-12-31", WindowParts(None, plus=[(D("9999-12-20"), D("9999-12-31"))])),
        ("0001-01-01", "0001-01-31", WindowParts(months=(D("0001-01-01"), D("0001-01-01")))),
    ],
)  # fmt: skip
def test_window_parts_at_the_ends_of_the_calendar(start, end, parts):
    """A window the API accepts (any valid dates, at most 366 days) up to date.max: was an
    OverflowError (a 500 on the sitemap's -ai_referrals ordering) in December 9999."""
    assert window_parts(Window(D(start), D(end))) == parts
