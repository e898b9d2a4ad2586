"""The Sitemap API's `agent_traffic`: totals in the listing, a page, its series, the export."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model

from referrals.models import Connection, SitemapPage
from tests.factories import (
    CHROME_UA,
    PLAN_QUERIES,
    agent_connection_make,
    agent_event,
    agent_push,
    event,
    push,
)

pytestmark = pytest.mark.django_db

WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
CLAUDE_UA = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)"


@pytest.fixture
def agents(api_client, brand, connection):
    """Referral traffic on /a; agent traffic on /a and /b (a page only agents fetched)."""
    assert (
        push(api_client, connection, [event(raw_page_value="/a", date="2026-05-02")]).status_code
        == 200
    )
    agent_connection = agent_connection_make(brand)
    events = [
        agent_event(raw_page_value="/a", date="2026-05-02", hits=10),
        agent_event(raw_page_value="/a", date="2026-05-27", hits=15, raw_user_agent="GPTBot/1.1"),
        agent_event(raw_page_value="/a", date="2026-05-27", hits=4, raw_user_agent=CLAUDE_UA),
        agent_event(raw_page_value="/b", date="2026-05-03", hits=3, raw_user_agent="PerplexityBot"),
        agent_event(raw_page_value="/b", date="2026-05-03", hits=99, raw_user_agent=CHROME_UA),
        agent_event(raw_page_value="/a", date="2026-04-30", hits=1000),  # before the window
    ]
    assert agent_push(api_client, agent_connection, events).json()["rejected"] == 1
    pages = {p.raw_page_value: p for p in SitemapPage.objects.all()}
    return agent_connection, pages


def test_listing_and_page_carry_agent_totals(api_client, brand, agents):
    _, pages = agents
    body = api_client.get(f"/v1/{brand.pk}/sitemap/pages", WINDOW).json()
    by_url = {item["url"]: item for item in body["items"]}
    assert by_url["https://example.com/a"]["agent_traffic"] == {
        "hits": 29,
        "count_by_platform": {"ChatGPT": 25, "Claude": 4},
    }
    assert list(by_url["https://example.com/a"]["agent_traffic"]["count_by_platform"]) == [
        "ChatGPT",
        "Claude",
    ]
    assert by_url["https://example.com/b"]["agent_traffic"] == {
        "hits": 3,
        "count_by_platform": {"Perplexity": 3},
    }
    assert by_url["https://example.com/b"]["ai_referrals"]["sessions"] == 0
    page = api_client.get(f"/v1/{brand.pk}/sitemap/pages/{pages['/a'].pk}", WINDOW).json()
    assert page["agent_traffic"]["hits"] == 29


def test_series_buckets_hits_by_platform(api_client, brand, agents):
    _, pages = agents
    body = api_client.get(
        f"/v1/{brand.pk}/sitemap/pages/{pages['/a'].pk}/metrics",
        {"start_date": "2026-05-01", "end_date": "2026-05-28"},
    ).json()
    buckets = body["metrics"]["agent_traffic"]
    assert len(buckets) == 28
    assert buckets[1] == {"date": "2026-05-02", "hits": 10, "count_by_platform": {"ChatGPT": 10}}
    assert buckets[26] == {
        "date": "2026-05-27",
        "hits": 19,
        "count_by_platform": {"ChatGPT": 15, "Claude": 4},
    }
    assert sum(b["hits"] for b in buckets) == 29
    weekly = api_client.get(
        f"/v1/{brand.pk}/sitemap/pages/{pages['/a'].pk}/metrics",
        {"start_date": "2026-01-01", "end_date": "2026-05-28"},
    ).json()
    assert weekly["granularity"] == "weekly"
    assert sum(b["hits"] for b in weekly["metrics"]["agent_traffic"]) == 1029


def test_export_has_agent_columns(api_client, brand, agents):
    response = api_client.get(f"/v1/{brand.pk}/sitemap/export", WINDOW)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    by_path = {row[2]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_path["/a"]["agent_traffic"] == "29"
    # first weekly... daily bucket (05-01) has no hits: no percent change
    assert by_path["/a"]["agent_traffic_change_pct"] == ""
    assert by_path["/b"]["agent_traffic"] == "3"


def test_a_disabled_agent_connection_is_not_read(api_client, brand, agents):
    agent_connection, pages = agents
    Connection.objects.filter(pk=agent_connection.pk).update(status="disabled")
    page = api_client.get(f"/v1/{brand.pk}/sitemap/pages/{pages['/a'].pk}", WINDOW).json()
    assert page["agent_traffic"] == {"hits": 0, "count_by_platform": {}}


def test_a_website_with_agent_traffic_only(api_client, brand):
    agent_connection = agent_connection_make(brand, website="logs.example")
    agent_push(api_client, agent_connection, [agent_event(date="2026-05-05", hits=2)])
    body = api_client.get(f"/v1/{brand.pk}/sitemap/pages", {**WINDOW, "domain": "logs.example"})
    assert body.status_code == 200
    [item] = body.json()["items"]
    assert item["agent_traffic"]["hits"] == 2 and item["ai_referrals"]["sessions"] == 0


def test_query_counts(api_client, brand, agents, django_assert_num_queries):
    _, pages = agents
    api_client.get(f"/v1/{brand.pk}/sitemap/pages")
    # auth + rate limit (2) + brand + website + priority rules + count + pages + referral
    # totals + agent totals + the last crawl
    with django_assert_num_queries(11 + PLAN_QUERIES):
        assert api_client.get(f"/v1/{brand.pk}/sitemap/pages", WINDOW).status_code == 200
    # auth + rate limit (2) + brand + page + its site + referral series + agent series
    with django_assert_num_queries(8 + PLAN_QUERIES):
        url = f"/v1/{brand.pk}/sitemap/pages/{pages['/a'].pk}/metrics"
        assert api_client.get(url, WINDOW).status_code == 200


def test_the_default_website_counts_agent_connections_as_the_dashboard_does(
    api_client, client, organization, brand
):
    """Without `domain`: the website of the brand's oldest active connection, an agent one
    included (a brand that only sends agent traffic still has a site map); the dashboard
    shows the same website by default."""
    agent_connection_make(brand, website="agents-first.example")
    Connection.objects.create(brand=brand, website="a.example", provider="adobe_analytics")
    user = get_user_model().objects.create_user("ana", password="pw")
    organization.members.add(user)
    client.force_login(user)

    def defaults() -> tuple[str, str]:
        api = api_client.get(f"/v1/{brand.pk}/sitemap/pages").json()["domain"]
        dashboard = client.get("/dashboard/", {"brand": brand.pk}).context["state"].website
        return api, dashboard

    assert defaults() == ("agents-first.example", "agents-first.example")
    Connection.objects.filter(website="agents-first.example").update(status="disabled")
    assert defaults() == ("a.example", "a.example")
