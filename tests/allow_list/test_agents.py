"""The AI-agent matcher (token at token boundaries), its seed and its cache."""

# ruff: noqa: E501 (real user agents, kept whole)

import pytest

from referrals.allow_list.agent_list import current_agent_matcher
from referrals.allow_list.agent_seed import SEED_AGENT_PLATFORMS, SEED_AGENTS
from referrals.allow_list.agents import AgentMatcher, token_valid
from referrals.models import AIAgent, AIPlatform

SEED = AgentMatcher([(name, name) for name, *_ in SEED_AGENTS])
OPENAI_SUFFIX = "; +https://openai.com/gptbot"


@pytest.mark.parametrize(
    ("user_agent", "agent"),
    [
        ("GPTBot/1.2", "GPTBot"),
        ("GPTBot", "GPTBot"),
        ("gptbot", "GPTBot"),
        (
            f"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2{OPENAI_SUFFIX}",
            "GPTBot",
        ),
        (
            "Mozilla/5.0 (compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)",
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
        ("Claude-User", "Claude-User"),
        ("Mozilla/5.0 (compatible; Claude-SearchBot/1.0)", "Claude-SearchBot"),
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
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
            "Bytespider",
        ),
        (
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            "meta-externalagent",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "Applebot",
        ),
        ("DuckAssistBot/1.2; (+http://duckduckgo.com/duckassistbot.html)", "DuckAssistBot"),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MistralAI-User/1.0; +https://docs.mistral.ai/robots)",
            "MistralAI-User",
        ),
        # Two agents named: the first token wins.
        ("Claude-User/1.0 GPTBot/1.2", "Claude-User"),
        # Not agents: look-alikes, other words, browsers and search engines.
        ("NotGPTBot/1.0", None),
        ("GPTBot-Fake/1.0", None),
        ("my_gptbot", None),
        ("GPTBotx", None),
        ("Claude", None),
        ("ClaudeBotanist/1.0", None),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            None,
        ),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", None),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", None),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Google-Extended)", None),
        ("Applebot-Extended/1.0", None),
        ("", None),
        ("é" * 20, None),
    ],
)
def test_seed_matching(user_agent, agent):
    assert SEED.match(user_agent) == agent


def test_classify_a_batch_keeps_order_and_repeats():
    values = ["x", "GPTBot/1", "CCBot", "x", "GPTBot/1", "NotCCBot CCBot"]
    assert SEED.classify(values) == [None, "GPTBot", "CCBot", None, "GPTBot", "CCBot"]
    assert SEED.classify([]) == []


def test_adjacent_and_repeated_tokens_are_each_found():
    matcher = AgentMatcher([(1, "a-bot"), (2, "b")])
    assert matcher.classify(["a-bot a-bot", "b b", "xb b", "a-botb b"]) == [1, 2, 2, 2]


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("GPTBot", True),
        ("Claude-User", True),
        ("x_y", True),
        ("Kangaroo Bot", False),
        ("", False),
        ("bot/1", False),
        ("ünï", False),
    ],
)
def test_token_validity(token, valid):
    assert token_valid(token) is valid
    assert (len(AgentMatcher([(1, token)])) == 1) is valid


def test_seed_facts():
    assert len(SEED_AGENTS) >= 20
    names = [name for name, *_ in SEED_AGENTS]
    assert len({n.lower() for n in names}) == len(names)
    assert all(token_valid(name) for name in names)
    assert {purpose for _, _, purpose, _, _ in SEED_AGENTS} == {"training", "search", "user"}
    assert {"Google-Extended", "Applebot-Extended", "Googlebot", "bingbot"}.isdisjoint(names)


@pytest.mark.django_db
def test_seeded_agents_in_the_database():
    assert AIAgent.objects.count() >= 20
    gptbot = AIAgent.objects.select_related("platform").get(token="GPTBot")
    assert (gptbot.operator, gptbot.purpose, gptbot.platform.name) == (
        "OpenAI",
        "training",
        "ChatGPT",
    )
    assert AIAgent.objects.get(token="CCBot").platform.slug == "common_crawl"
    slugs = set(AIPlatform.objects.values_list("slug", flat=True))
    assert {item["slug"] for item in SEED_AGENT_PLATFORMS} <= slugs


@pytest.mark.django_db
def test_the_cached_matcher_follows_changes_to_the_list():
    gptbot = AIAgent.objects.get(token="GPTBot")
    assert current_agent_matcher().match("GPTBot/1.2") == gptbot.pk
    assert current_agent_matcher() is current_agent_matcher()  # unchanged list: cached
    gptbot.active = False
    gptbot.save()
    assert current_agent_matcher().match("GPTBot/1.2") is None
    new = AIAgent.objects.create(
        name="Example",
        token="ExampleBot",
        operator="Ex",
        purpose="search",
        platform=gptbot.platform,
    )
    assert current_agent_matcher().match("ExampleBot/2") == new.pk
    platform = AIPlatform.objects.get(slug="claude")
    platform.active = False
    platform.save()
    assert current_agent_matcher().match("ClaudeBot/1.0") is None
