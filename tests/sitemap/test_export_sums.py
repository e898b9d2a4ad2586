"""The export's sums (one grouped query per page, referrals.reporting.pages.page_platform_sums)
equal the list's (grouped by page and platform in the ORM), and its order by AI referrals (sorted
in Python) equals the list's (sorted in SQL), over random rows and windows."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.sitemap.test_api import csv_dicts, export_url, make_page, make_row, pages_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

PLATFORMS = ("chatgpt", "claude", "perplexity", "gemini")
FIRST = date(2026, 1, 1)
METRICS = ("pageviews", "sessions", "transactions", "purchase_revenue")


@pytest.fixture
def no_rate_limits(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [],
    }


@pytest.fixture
def random_site(brand, connection):
    """Pages under two sections with random rows (some metrics null, cents of revenue), ties
    in sessions included."""
    rng = random.Random(1729)
    pages = [make_page(brand, f"/{rng.choice('ab')}/{i:02d}") for i in range(14)]
    for page in pages[:-2]:  # two pages without rows
        seen = set()
        for n in range(rng.randint(1, 9)):
            # The first of them in the short window's week (2026-03-10).
            day = FIRST + timedelta(days=68 if n == 0 else rng.randint(0, 200))
            platform = rng.choice(PLATFORMS)
            if (day, platform) in seen:
                continue
            seen.add((day, platform))
            make_row(
                connection,
                page,
                day,
                platform,
                sessions=rng.choice([None, 0, 1, 2, 5, 40]),
                pageviews=rng.choice([None, 3, 17]),
                transactions=rng.choice([None, 0, 1]),
                purchase_revenue=rng.choice([None, Decimal("0.0050"), Decimal("19.9900")]),
            )
    return pages


def listed(api_client, brand, params):
    response = api_client.get(pages_url(brand.pk), {**params, "limit": 1000})
    assert response.status_code == 200, response.content
    return response.json()["items"]


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01-01", "2026-07-20"), ("2026-02-03", "2026-03-30"), ("2026-03-09", "2026-03-15")],
)
@pytest.mark.parametrize("filters", [{}, {"path_prefix": "/a"}])
def test_the_export_equals_the_list(api_client, brand, random_site, start, end, filters):
    for ordering in ("-ai_referrals", "depth,url"):
        params = {"start_date": start, "end_date": end, "ordering": ordering, **filters}
        items = listed(api_client, brand, params)
        rows = csv_dicts(api_client.get(export_url(brand.pk), params))
        assert [row["id"] for row in rows] == [str(item["id"]) for item in items]
        for item, row in zip(items, rows, strict=True):
            sums = item["ai_referrals"]
            assert [row[name] for name in METRICS] == [str(sums[name]) for name in METRICS]
            split = {
                name.removeprefix("sessions: "): int(value)
                for name, value in row.items()
                if name.startswith("sessions: ") and value != "0"
            }
            assert split == sums["count_by_platform"]
    assert any(item["ai_referrals"]["sessions"] for item in items)
