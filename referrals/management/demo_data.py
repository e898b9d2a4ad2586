"""A believable sample of a brand's AI traffic for the demo the run command seeds.

90 days ending yesterday over a few hundred pages of a shop's site: the main assistants with
shares like those analytics vendors report (ChatGPT well ahead, then Perplexity, Gemini,
Copilot, Claude), a slow growth with a weekly rhythm, pages whose popularity falls off as a
power law, each referrer in the raw forms analytics tools export, and some referrers that are
no AI assistant (dropped by the allow-list). Deterministic: the same rows every time.
"""

import random
from collections.abc import Iterator
from datetime import date, timedelta

DAYS = 90
SEED = 20261130

# (raw referrer forms, share of AI sessions)
PLATFORMS = [
    (["chatgpt.com", "https://chatgpt.com/", "chat.openai.com"], 0.62),
    (["https://www.perplexity.ai/search?q=best+trail+shoes", "perplexity.ai"], 0.13),
    (["https://gemini.google.com/app", "gemini.google.com"], 0.09),
    (["copilot.microsoft.com", "https://www.bing.com/chat?form=NTPCHB"], 0.07),
    (["claude.ai", "https://claude.ai/chat/"], 0.06),
    (["chat.deepseek.com"], 0.015),
    (["chat.mistral.ai", "grok.com"], 0.015),
]
NOT_AI = ["google.com", "https://www.facebook.com/", "(direct)", "newsletter"]

SECTIONS = {
    "products": 140,
    "blog": 90,
    "guides": 40,
    "collections": 20,
    "help": 20,
}
TOP_LEVEL = ["/", "/about", "/shipping", "/returns", "/contact", "/stores"]


def demo_pages() -> list[str]:
    pages = list(TOP_LEVEL)
    for section, count in SECTIONS.items():
        pages += [f"/{section}/{section[:-1]}-{i + 1}" for i in range(count)]
    return pages


def demo_referral_rows(*, end: date | None = None) -> Iterator[dict]:
    """Daily rows (the push's event fields), oldest day first."""
    rng = random.Random(SEED)
    end = end or date.today() - timedelta(days=1)
    pages = demo_pages()
    # Popularity by rank: a few pages get most of the visits, as on any site.
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(pages))]
    rng.shuffle(weights)
    for offset in range(DAYS - 1, -1, -1):
        day = end - timedelta(days=offset)
        growth = 1 + 0.8 * (DAYS - offset) / DAYS  # AI referrals grow month on month
        weekday = 0.75 if day.weekday() >= 5 else 1.0
        sessions_today = int(900 * growth * weekday * rng.uniform(0.9, 1.1))
        for forms, share in PLATFORMS:
            platform_sessions = max(1, int(sessions_today * share))
            for page, sessions in _spread(rng, pages, weights, platform_sessions, 40):
                yield _row(rng, day, rng.choice(forms), page, sessions)
        for referrer in NOT_AI:
            yield _row(rng, day, referrer, rng.choice(pages[:30]), rng.randint(5, 60))


def _spread(rng: random.Random, pages, weights, sessions: int, most: int):
    """`sessions` spread over at most `most` pages drawn by popularity, as (page, sessions)."""
    counts: dict[str, int] = {}
    for page in rng.choices(pages, weights=weights, k=sessions):
        counts[page] = counts.get(page, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])[:most]


def _row(rng: random.Random, day: date, referrer: str, page: str, sessions: int) -> dict:
    transactions = sum(rng.random() < 0.025 for _ in range(sessions))
    return {
        "date": day.isoformat(),
        "raw_referrer_value": referrer,
        "raw_page_value": page,
        "sessions": sessions,
        "pageviews": sessions + rng.randint(0, sessions * 2),
        "transactions": transactions,
        "purchase_revenue": round(transactions * rng.uniform(40, 160), 2) if transactions else 0,
        "batch_id": f"demo-{day.isoformat()}",
    }


# Agent traffic: (user agent as a server log shows it, hits per day at the start, share of
# those the sender verified against the operator's published IP ranges; None: not checked).
AGENTS = [
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot",
        420,
        0.9,
    ),
    ("Mozilla/5.0 (compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)", 160, 0.9),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; "
        "+https://openai.com/bot",
        120,
        0.8,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
        "+claudebot@anthropic.com)",
        260,
        0.7,
    ),
    ("Mozilla/5.0 (compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", 90, 0.6),
    (
        "Mozilla/5.0 (compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)",
        40,
        None,
    ),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", 70, None),
    (
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
        "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        110,
        None,
    ),
    (
        "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
        30,
        0.5,
    ),  # noqa: E501
]
# User agents of people and other bots, as a log has them: sent, and rejected by the service.
NOT_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
]


def demo_agent_rows(*, end: date | None = None) -> Iterator[dict]:
    """Daily agent-traffic rows (the agent push's event fields), oldest day first: crawlers
    that fetch many pages a few times, fetchers for a chat user that fetch the popular ones."""
    rng = random.Random(SEED + 1)
    end = end or date.today() - timedelta(days=1)
    pages = demo_pages()
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(pages))]
    rng.shuffle(weights)
    for offset in range(DAYS - 1, -1, -1):
        day = end - timedelta(days=offset)
        growth = 1 + 1.2 * (DAYS - offset) / DAYS  # agents come more often month on month
        for user_agent, hits, verified_share in AGENTS:
            hits_today = max(1, int(hits * growth * rng.uniform(0.7, 1.3)))
            for page, page_hits in _spread(rng, pages, weights, hits_today, 12):
                verified = None if verified_share is None else rng.random() < verified_share
                yield {
                    "date": day.isoformat(),
                    "raw_user_agent": user_agent,
                    "raw_page_value": page,
                    "hits": page_hits,
                    "verified": verified,
                    "batch_id": f"demo-agents-{day.isoformat()}",
                }
        for user_agent in NOT_AGENTS:
            yield {
                "date": day.isoformat(),
                "raw_user_agent": user_agent,
                "raw_page_value": rng.choice(pages[:30]),
                "hits": rng.randint(20, 400),
                "batch_id": f"demo-agents-{day.isoformat()}",
            }
