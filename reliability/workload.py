"""The workload of the checks and of bench/ingest.py: seeds, realistic batches, and what was stored.

Events mix AI and other referrers over PAGES pages and 30 days, as an analytics export does.
"""

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from reliability.harness import Reply, request, sql

KEY = tuple[str, str, str]  # (date, raw_referrer_value, raw_page_value)

BATCH = 10_000
PAGES = 2_000
# The last day of the checks' batches: in the past, so later days stay valid (dates later than
# tomorrow are refused).
END = datetime.now(UTC).date() - timedelta(days=11)

AI_REFERRERS = [
    "chatgpt.com",
    "https://chatgpt.com/",
    "https://chatgpt.com/c/6650a1b2-aaaa-bbbb",
    "chat.openai.com",
    "https://www.perplexity.ai/search?q=best+running+shoes",
    "perplexity",
    "claude.ai",
    "https://claude.ai/chat/0b1c",
    "https://gemini.google.com/app",
    "copilot.microsoft.com",
    "https://www.bing.com/chat?form=NTPCHB",
    "https://x.com/i/grok?conversation=1",
    "chat.deepseek.com",
    "https://example.com/landing?utm_source=chatgpt.com&utm_medium=referral",
    "https://chat.mistral.ai/chat/" + "a" * 240,  # truncated at 255 bytes by the source tool
    "poe.com",
]
OTHER_REFERRERS = [
    "google.com",
    "https://www.google.com/",
    "Typed/Bookmarked",
    "(direct)",
    "facebook.com",
    "https://www.bing.com/search?q=x",
]


def page_value(i: int) -> str:
    return f"/section-{i % 25}/article-{i}-{'x' * (i % 40)}"


def make_batch(seed: int, day_end: date) -> list[dict]:
    """10,000 events: 80% AI referrers in mixed raw forms, 30 days, 2,000 pages, ~1% repeats."""
    rng = random.Random(seed)
    events = []
    for _ in range(BATCH):
        referrer = rng.choice(AI_REFERRERS) if rng.random() < 0.8 else rng.choice(OTHER_REFERRERS)
        sessions = rng.randint(1, 300)
        events.append(
            {
                "date": (day_end - timedelta(days=rng.randrange(30))).isoformat(),
                "raw_referrer_value": referrer,
                "raw_page_value": page_value(rng.randrange(PAGES)),
                "pageviews": sessions + rng.randint(0, 200),
                "sessions": sessions,
                "transactions": rng.randint(0, 3),
                "purchase_revenue": round(rng.random() * 500, 2) if rng.random() < 0.3 else None,
                "batch_id": f"bench-{seed}",
            }
        )
    for i in rng.sample(range(1, BATCH), BATCH // 100):  # repeated keys inside the batch
        events[i] = {**events[i - 1], "sessions": events[i]["sessions"]}
    return events


def ndjson(events: list[dict]) -> bytes:
    return "\n".join(json.dumps(e) for e in events).encode()


def seed_objects(website: str):
    """A new organization, brand, active connection to `website`, and a configure+query token."""
    from referrals.connections.services import connection_register
    from referrals.models import Brand, Organization
    from referrals.tenancy.services import api_key_create

    org, _ = Organization.objects.get_or_create(name=f"Bench {uuid.uuid4().hex[:6]}")
    brand = Brand.objects.create(organization=org, name="Bench brand")
    connection = connection_register(brand=brand, website=website, provider="adobe_analytics")
    token = api_key_create(organization=org, name="bench", scopes=["configure", "query"]).token
    return brand, connection, token


@dataclass
class Tenant:
    brand_id: int
    connection_id: str
    token: str
    connection: object = None

    @property
    def events_path(self) -> str:
        return f"/v1/{self.brand_id}/ai-referrals/connections/{self.connection_id}/events"


def seed(website: str) -> Tenant:
    brand, connection, token = seed_objects(website)
    return Tenant(brand.pk, connection.pk, token, connection)


def key_pool(size: int, seed: int = 0) -> list[dict]:
    """`size` events with distinct upsert keys, in the realistic mix of make_batch."""
    pool, seen, batch = [], set(), 0
    while len(pool) < size:
        for event in make_batch(seed * 1000 + batch, END):
            key = event_key(event)
            if key not in seen:
                seen.add(key)
                pool.append(event)
        batch += 1
    return pool[:size]


def event_key(event: dict) -> KEY:
    return (event["date"], event["raw_referrer_value"], event["raw_page_value"])


def stamp(events: list[dict], batch_id: str, base: int) -> list[dict]:
    """Copies with this push's batch_id and metrics no other push has (base + position)."""
    out = []
    for i, event in enumerate(events):
        sessions = base + i
        out.append(
            {
                **event,
                "sessions": sessions,
                "pageviews": sessions + 1,
                "transactions": base // 100_000,
                "purchase_revenue": round(sessions / 100, 2),
                "batch_id": batch_id,
            }
        )
    return out


def accepted_keys(events: list[dict]) -> dict[KEY, tuple]:
    """What a push stores: AI-referrer events, last occurrence per key, as metric tuples."""
    from referrals.allow_list.platforms import matcher_build

    matcher = matcher_build()
    out = {}
    for event in events:
        if matcher.match(event["raw_referrer_value"]) is not None:
            out[event_key(event)] = metrics_of(event)
    return out


def metrics_of(event: dict) -> tuple:
    revenue = event.get("purchase_revenue")
    return (
        event.get("pageviews"),
        event.get("sessions"),
        event.get("transactions"),
        None if revenue is None else f"{revenue:.4f}",
        event.get("batch_id"),
    )


def stored_rows(connection_id: str) -> dict[KEY, tuple]:
    rows = sql(
        "SELECT date::text, raw_referrer_value, raw_page_value, pageviews, sessions, "
        "transactions, purchase_revenue::text, batch_id FROM referrals_referralrow "
        "WHERE connection_id = %s",
        [connection_id],
    )
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def duplicate_keys(connection_id: str) -> int:
    (count,) = sql(
        "SELECT count(*) FROM (SELECT 1 FROM referrals_referralrow WHERE connection_id = %s "
        "GROUP BY date, raw_referrer_value, raw_page_value HAVING count(*) > 1) d",
        [connection_id],
    )[0]
    return count


def rollup_mismatches(connection_id: str) -> int:
    """(day, platform) groups where the daily rollup differs from a GROUP BY of the rows."""
    (count,) = sql(
        "SELECT count(*) FROM (SELECT date, platform_id, count(*) AS n,"
        " sum(coalesce(pageviews, 0)) AS pv, sum(coalesce(sessions, 0)) AS s,"
        " sum(coalesce(transactions, 0)) AS t, sum(coalesce(purchase_revenue, 0)) AS r"
        " FROM referrals_referralrow WHERE connection_id = %s AND platform_id IS NOT NULL"
        " GROUP BY date, platform_id) g FULL JOIN (SELECT * FROM referrals_dailyplatformtotal"
        " WHERE connection_id = %s) d ON d.date = g.date AND d.platform_id = g.platform_id"
        " WHERE (g.n, g.pv, g.s, g.t, g.r) IS DISTINCT FROM"
        " (d.row_count, d.pageviews, d.sessions, d.transactions, d.purchase_revenue)",
        [connection_id, connection_id],
    )[0]
    return count


def shuffled(events: list[dict], rng: random.Random) -> list[dict]:
    events = list(events)
    rng.shuffle(events)
    return events


def day(offset: int) -> str:
    return (END - timedelta(days=offset)).isoformat()


def push(port: int, tenant: Tenant, events: list[dict], **kwargs) -> Reply:
    return request(
        port, "POST", tenant.events_path, token=tenant.token, body=ndjson(events), **kwargs
    )
