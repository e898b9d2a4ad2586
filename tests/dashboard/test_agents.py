"""The dashboard's AI agents section: numbers, state, CSV, health, queries."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse

from referrals.models import Connection
from tests.factories import CHROME_UA, agent_connection_make, agent_event, agent_push

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
EXPORT_URL = "/dashboard/agents.csv"
WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
CLAUDE_UA = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)"
PERPLEXITY_USER = (
    "Mozilla/5.0 (compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)"
)


@pytest.fixture
def member_client(client, organization):
    user = get_user_model().objects.create_user("ana", password="pw")
    organization.members.add(user)
    client.force_login(user)
    return client


@pytest.fixture
def logs(api_client, brand):
    connection = agent_connection_make(brand)
    events = [
        agent_event(date="2026-05-02", raw_page_value="/a", hits=10, verified=True),
        agent_event(date="2026-05-02", raw_page_value="/b", hits=5, verified=False),
        agent_event(
            date="2026-05-03", raw_user_agent=CLAUDE_UA, raw_page_value="/a", hits=4, verified=None
        ),
        agent_event(
            date="2026-05-03",
            raw_user_agent=PERPLEXITY_USER,
            raw_page_value="/c",
            hits=1,
            verified=None,
        ),
        agent_event(date="2026-05-03", raw_user_agent=CHROME_UA, raw_page_value="/a", hits=500),
        agent_event(date="2026-04-20", raw_page_value="/a", hits=8, verified=True),  # previous
    ]
    response = agent_push(api_client, connection, events)
    assert response.json()["accepted"] == 5
    return connection


def section(response) -> str:
    html = response.content.decode()
    start = html.index('id="ai-agents"')
    return html[start : html.index("</section>\n", html.index('id="agents-health-title"'))]


def test_section_numbers(member_client, brand, logs):
    response = member_client.get(URL, {"brand": brand.pk, "website": "example.com", **WINDOW})
    assert response.status_code == 200
    agents = response.context["agents"]
    assert agents["hits"] == 20 and agents["previous_hits"] == 8
    assert float(agents["hits_change"]) == 150.0
    assert float(agents["verified_share"]) == 0.5  # 10 of 20 (null counts as not verified)
    assert [(p.name, p.hits) for p in agents["platforms"]] == [
        ("ChatGPT", 15),
        ("Claude", 4),
        ("Perplexity", 1),
    ]
    assert [(p.name, p.hits) for p in agents["purposes"]] == [
        ("training crawler", 19),
        ("fetcher for a user", 1),
    ]
    assert [(a.name, a.hits) for a in agents["agents"]] == [
        ("GPTBot", 15),
        ("ClaudeBot", 4),
        ("Perplexity-User", 1),
    ]
    assert agents["page_count"] == 3
    top = agents["pages"][0]
    assert (top.raw_page_value, top.hits) == ("/a", 14)
    assert [(name, hits) for name, _, hits in top.agents] == [("GPTBot", 10), ("ClaudeBot", 4)]
    data = agents["chart_data"]
    assert len(data["days"]) == 28
    chatgpt = next(s for s in data["series"] if s["platform"] == "ChatGPT")
    assert chatgpt["hits"][1] == 15 and sum(chatgpt["hits"]) == 15
    html = section(response)
    assert 'id="agents-chart"' in html and 'id="agent-pages-table"' in html
    assert "Healthy" in html or "Stale" in html
    assert CHROME_UA in html  # the dropped user agents


def test_the_window_comes_from_the_query_string(member_client, brand, logs):
    response = member_client.get(
        URL, {"brand": brand.pk, "start_date": "2026-05-03", "end_date": "2026-05-03"}
    )
    assert response.context["agents"]["hits"] == 5
    empty = member_client.get(
        URL, {"brand": brand.pk, "start_date": "2026-01-01", "end_date": "2026-01-02"}
    )
    assert empty.context["agents"]["has_data"] is False
    assert 'id="agents-no-data"' in empty.content.decode()


def test_the_default_window_ends_at_the_latest_agent_day(member_client, brand, logs):
    response = member_client.get(URL, {"brand": brand.pk})
    assert response.context["state"].end.isoformat() == "2026-05-03"


def test_a_disabled_agent_connection_is_not_read(member_client, brand, logs):
    Connection.objects.filter(pk=logs.pk).update(status="disabled")
    response = member_client.get(URL, {"brand": brand.pk, **WINDOW})
    assert response.context["agents"]["active"] is False
    assert "is disabled" in section(response)


def test_no_agent_connection_no_section(member_client, brand, connection):
    response = member_client.get(URL, {"brand": brand.pk, **WINDOW})
    assert "agents" not in response.context and 'id="ai-agents"' not in response.content.decode()


def test_csv_export_follows_the_view(member_client, brand, logs):
    response = member_client.get(EXPORT_URL, {"brand": brand.pk, **WINDOW})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].startswith('attachment; filename="ai-agents-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(r["hits"]) for r in rows) == 20
    assert {r["agent"] for r in rows} == {"GPTBot", "ClaudeBot", "Perplexity-User"}
    assert sum(int(r["verified_hits"]) for r in rows) == 10
    bad = member_client.get(EXPORT_URL, {"brand": brand.pk, "start_date": "nope"})
    assert bad.status_code == 400


def test_user_agents_are_escaped(member_client, brand, api_client):
    connection = agent_connection_make(brand)
    agent_push(api_client, connection, [agent_event(raw_user_agent="<script>alert(1)</script>")])
    html = member_client.get(URL, {"brand": brand.pk, **WINDOW}).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_query_count(member_client, brand, connection, logs, django_assert_num_queries):
    member_client.get(URL, {"brand": brand.pk, **WINDOW})
    # the referral part without data (session, user, brands, connections, series, pushes,
    # dropped referrers, the website's crawl) + agents: series, previous period, top pages (2),
    # pushes, dropped
    with django_assert_num_queries(14):
        member_client.get(URL, {"brand": brand.pk, **WINDOW})
