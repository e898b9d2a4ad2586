"""The Sitemap API keeps hashing when the statistics do not know the connection's rows yet
(referrals.reporting.plans): no read is planned as a nested loop that rescans one side per row
of the other, whose cost grows with rows x pages (seconds for a new brand's first 10,000 rows,
hours for a year of them)."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from referrals.models import SitemapPage
from referrals.reporting.plans import PLAN_SETTINGS, report_plans
from tests.dashboard import test_explore

# Each read in a transaction of its own, as in production (a test's one transaction around
# several reads mixes, on Citus, execution on the coordinator and propagated settings).
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("platforms_seeded"),
]

explored = test_explore.explored

WINDOW = "start_date=2026-05-01&end_date=2026-05-28"
# What PostgreSQL knows of a new brand's rows before the next ANALYZE: nothing.
TABLES = (
    "referrals_referralrow",
    "referrals_sitemappage",
    "referrals_monthlypagetotal",
    "referrals_dailyplatformtotal",
)


def sitemap_reads(brand_id: int, page_id: int) -> list[str]:
    base = f"/v1/{brand_id}/sitemap"
    return [
        f"{base}/pages?{WINDOW}&ordering=-ai_referrals",
        f"{base}/pages?{WINDOW}&path_prefix=/docs",
        f"{base}/pages/{page_id}?{WINDOW}",
        f"{base}/pages/{page_id}/metrics?{WINDOW}",
        f"{base}/export?{WINDOW}&ordering=-ai_referrals",
        f"{base}/export?{WINDOW}&path_prefix=/blog&format=xlsx",
    ]


def report_queries(client, url: str) -> list[str]:
    """The SQL a read runs after the plan settings, which it must run first: the report's
    queries, in the read's own transaction."""
    with CaptureQueriesContext(db) as queries:
        assert client.get(url).status_code == 200, url
    statements = [query["sql"] for query in queries.captured_queries]
    assert PLAN_SETTINGS in statements, url
    return statements[statements.index(PLAN_SETTINGS) + 1 :]


def rescanning_loops(statements: list[str]) -> list[str]:
    """The plan, under the plan settings, of every SELECT with a nested loop that rescans its
    inner side for every outer row and filters the pairs (a "Join Filter" under the loop). A
    loop over one row (a platform by its id) has no join filter and is no harm."""
    found = []
    with report_plans(), db.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute("EXPLAIN " + sql)
            lines = [line for (line,) in cursor.fetchall()]
            pairs = zip(lines, [*lines[1:], ""], strict=True)
            if any("Nested Loop" in a and b.strip().startswith("Join Filter") for a, b in pairs):
                found.append(f"{sql[:300]}\n" + "\n".join(lines))
    return found


@pytest.fixture
def unknown_statistics():
    """The tables analyzed while empty, as PostgreSQL knows them before a new brand's first
    pushes are analyzed (the rows come after, from `explored`)."""
    with db.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [TABLES[0]])
        assert cursor.fetchone()[0] <= 0  # the planner believes the rows table empty


def test_no_sitemap_read_is_planned_as_a_nested_loop(api_client, unknown_statistics, explored):
    page = SitemapPage.objects.get(brand=explored.brand, raw_page_value="/blog/a")
    for url in sitemap_reads(explored.brand_id, page.pk):
        assert rescanning_loops(report_queries(api_client, url)) == [], url
