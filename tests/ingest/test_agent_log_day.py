"""Done when (issue 13): a real-looking day of CDN log rows, pushed, shows exact per-platform
and per-purpose numbers on the dashboard and in the Sitemap API.

The day mixes browsers, search engines, AI agents with and without version numbers, and
spoofed look-alike tokens. Every user agent's expected agent is written by hand here, not
derived from the matcher.
"""

# ruff: noqa: E501 (real user agents, kept whole)

from collections import Counter

import pytest
from django.contrib.auth import get_user_model

from referrals.models import AgentTrafficRow, DroppedUserAgent, SitemapPage
from tests.factories import agent_connection_make, agent_push

pytestmark = pytest.mark.django_db

DAY = "2026-05-20"
# (user agent, the agent it is, or None)
USER_AGENTS = [
    # Browsers
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        None,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", None),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.0.0",
        None,
    ),
    # Search engines (not AI agents)
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", None),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        None,
    ),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", None),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", None),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", None),
    # AI agents, with versions
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot",
        "GPTBot",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot",
        "OAI-SearchBot",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        "ChatGPT-User",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "ClaudeBot",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
        "PerplexityBot",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)",
        "Perplexity-User",
    ),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", "CCBot"),
    (
        "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
        "meta-externalagent",
    ),
    (
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        "Bytespider",
    ),
    # AI agents, without versions
    ("Claude-User", "Claude-User"),
    ("Mozilla/5.0 (compatible; Claude-SearchBot)", "Claude-SearchBot"),
    ("DuckAssistBot", "DuckAssistBot"),
    ("gptbot", "GPTBot"),
    # Spoofed look-alikes
    ("Mozilla/5.0 (compatible; NotGPTBot/1.0)", None),
    ("Mozilla/5.0 (compatible; GPTBot-Fake/1.2)", None),
    ("ClaudeBotX/1.0", None),
    ("my_perplexitybot crawler", None),
    ("Mozilla/5.0 (compatible; GPT Bot/1.0)", None),
    ("Mozilla/5.0 (compatible; Google-Extended)", None),
]
PLATFORM = {
    "GPTBot": "ChatGPT",
    "OAI-SearchBot": "ChatGPT",
    "ChatGPT-User": "ChatGPT",
    "ClaudeBot": "Claude",
    "Claude-User": "Claude",
    "Claude-SearchBot": "Claude",
    "PerplexityBot": "Perplexity",
    "Perplexity-User": "Perplexity",
    "CCBot": "Common Crawl",
    "meta-externalagent": "Meta AI",
    "Bytespider": "Doubao (ByteDance)",
    "DuckAssistBot": "Duck.ai",
}
PURPOSE = {
    "GPTBot": "training crawler",
    "ClaudeBot": "training crawler",
    "CCBot": "training crawler",
    "meta-externalagent": "training crawler",
    "Bytespider": "training crawler",
    "OAI-SearchBot": "search indexer",
    "PerplexityBot": "search indexer",
    "Claude-SearchBot": "search indexer",
    "ChatGPT-User": "fetcher for a user",
    "Perplexity-User": "fetcher for a user",
    "Claude-User": "fetcher for a user",
    "DuckAssistBot": "fetcher for a user",
}
PAGES = ["/", "/pricing", "/blog/launch-notes", "/docs/setup", "/docs/api", "/about"]


def log_day() -> list[dict]:
    """One row per (user agent, page) a CDN's daily summary would hold, with varied hits."""
    return [
        {
            "date": DAY,
            "raw_user_agent": ua,
            "raw_page_value": page,
            "hits": (u * 7 + p * 13) % 50 + 1,
            "verified": None if expected is None else (u + p) % 3 != 0,
        }
        for u, (ua, expected) in enumerate(USER_AGENTS)
        for p, page in enumerate(PAGES)
    ]


def test_a_day_of_logs_gives_exact_numbers(api_client, brand, client):
    rows = log_day()
    connection = agent_connection_make(brand, website="shop.example", provider="nginx")
    response = agent_push(api_client, connection, rows, fmt="ndjson")
    assert response.status_code == 200, response.json()

    expected_agent = dict(USER_AGENTS)
    counted = [r for r in rows if expected_agent[r["raw_user_agent"]] is not None]
    body = response.json()
    assert body["accepted"] == len(counted) and body["rejected"] == len(rows) - len(counted)

    by_platform: Counter = Counter()
    by_purpose: Counter = Counter()
    by_agent: Counter = Counter()
    by_page: Counter = Counter()
    verified = 0
    for r in counted:
        agent = expected_agent[r["raw_user_agent"]]
        by_platform[PLATFORM[agent]] += r["hits"]
        by_purpose[PURPOSE[agent]] += r["hits"]
        by_agent[agent] += r["hits"]
        by_page[r["raw_page_value"]] += r["hits"]
        verified += r["hits"] if r["verified"] else 0
    total = sum(by_platform.values())

    # Stored: the counted rows with their agents; the rest tallied as dropped user agents.
    stored = Counter()
    for row in AgentTrafficRow.objects.select_related("agent"):
        stored[row.agent.name] += row.hits
    assert stored == by_agent
    dropped = dict(DroppedUserAgent.objects.values_list("raw_user_agent", "count"))
    assert dropped == {ua: len(PAGES) for ua, agent in USER_AGENTS if agent is None}

    # The dashboard.
    user = get_user_model().objects.create_user("ana", password="pw")
    brand.organization.members.add(user)
    client.force_login(user)
    page = client.get("/dashboard/", {"brand": brand.pk, "start_date": DAY, "end_date": DAY})
    agents = page.context["agents"]
    assert agents["hits"] == total
    assert {p.name: p.hits for p in agents["platforms"]} == dict(by_platform)
    assert {p.name: p.hits for p in agents["purposes"]} == dict(by_purpose)
    assert {a.name: a.hits for a in agents["agents"]} == dict(by_agent)
    assert agents["verified_share"] * total == verified
    assert {p.raw_page_value: p.hits for p in agents["pages"]} == dict(by_page)

    # The Sitemap API: per page totals, and the day's bucket of each page's series.
    listing = api_client.get(
        f"/v1/{brand.pk}/sitemap/pages",
        {"domain": "shop.example", "start_date": DAY, "end_date": DAY},
    ).json()
    assert listing["total"] == len(PAGES)
    for item in listing["items"]:
        raw = item["url"].removeprefix("https://shop.example")
        expected = Counter()
        for r in counted:
            if r["raw_page_value"] == raw:
                expected[PLATFORM[expected_agent[r["raw_user_agent"]]]] += r["hits"]
        assert item["agent_traffic"] == {
            "hits": by_page[raw],
            "count_by_platform": dict(sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))),
        }
        page_id = SitemapPage.objects.get(
            brand=brand, website="shop.example", raw_page_value=raw
        ).pk
        series = api_client.get(
            f"/v1/{brand.pk}/sitemap/pages/{page_id}/metrics",
            {"start_date": DAY, "end_date": DAY},
        ).json()
        assert series["metrics"]["agent_traffic"] == [
            {
                "date": DAY,
                "hits": by_page[raw],
                "count_by_platform": item["agent_traffic"]["count_by_platform"],
            }
        ]

    # Pushed again (a retry): nothing changes.
    assert agent_push(api_client, connection, rows).json()["accepted"] == len(counted)
    again = client.get("/dashboard/", {"brand": brand.pk, "start_date": DAY, "end_date": DAY})
    assert again.context["agents"]["hits"] == total
