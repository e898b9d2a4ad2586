"""Builders shared by the test modules: push events and requests, stored rows and pages."""

import datetime as dt
import io
import json
import math
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection as db_connection
from django.db.models import Count, Model, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from referrals.models import (
    AIPlatform,
    AIPlatformEntry,
    Connection,
    DailyPlatformTotal,
    MonthlyPageTotal,
    ReferralRow,
    SitemapPage,
    page_key,
)

TODAY = dt.datetime.now(dt.UTC).date()
# What referrals.reporting.plans adds to a report's queries on PostgreSQL inside a test's
# transaction: SAVEPOINT, the plan settings (one statement), RELEASE.
PLAN_QUERIES = 3 if db_connection.vendor == "postgresql" else 0


# --- pushes ---


def url(connection, brand_id=None):
    brand_id = brand_id or connection.brand_id
    return f"/v1/{brand_id}/ai-referrals/connections/{connection.pk}/events"


def event(**overrides):
    base = {
        "date": "2026-05-20",
        "raw_referrer_value": "chatgpt.com",
        "raw_page_value": "/blog/launch-notes",
        "pageviews": 10,
        "sessions": 7,
        "transactions": 1,
        "purchase_revenue": 42.5,
        "batch_id": "b-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def push(client, connection, events, fmt="json", query="", **extra):
    if fmt == "json":
        body, content_type = json.dumps(events), "application/json"
    else:
        body = "\n".join(json.dumps(e) for e in events)
        content_type = "application/x-ndjson"
    return client.post(url(connection) + query, body, content_type=content_type, **extra)


def post_raw(client, connection, body: bytes, content_type="application/json", **extra):
    return client.generic("POST", url(connection), body, content_type=content_type, **extra)


TOO_LATE = (TODAY + dt.timedelta(days=2)).isoformat()

FIELD_CASES = [
    ({"date": ...}, "date", "missing"),
    ({"date": None}, "date", "date_type"),
    ({"date": 20260520}, "date", "date_type"),
    ({"date": "2026-02-30"}, "date", "date_parsing"),
    ({"date": "2026-5-20"}, "date", "date_parsing"),
    ({"date": "20260520"}, "date", "date_parsing"),
    ({"date": "2026-05-20T00:00:00"}, "date", "date_parsing"),
    ({"date": TOO_LATE}, "date", "date_too_late"),
    ({"raw_referrer_value": ...}, "raw_referrer_value", "missing"),
    ({"raw_referrer_value": ""}, "raw_referrer_value", "string_too_short"),
    ({"raw_referrer_value": "c" * 513}, "raw_referrer_value", "string_too_long"),
    ({"raw_referrer_value": 5}, "raw_referrer_value", "string_type"),
    ({"raw_referrer_value": None}, "raw_referrer_value", "string_type"),
    ({"raw_referrer_value": "chat\x00gpt.com"}, "raw_referrer_value", "string_nul"),
    ({"raw_page_value": ...}, "raw_page_value", "missing"),
    ({"raw_page_value": ""}, "raw_page_value", "string_too_short"),
    ({"raw_page_value": "/" * 2049}, "raw_page_value", "string_too_long"),
    ({"raw_page_value": ["/"]}, "raw_page_value", "string_type"),
    ({"raw_page_value": "/a\x00"}, "raw_page_value", "string_nul"),
    ({"pageviews": -1}, "pageviews", "greater_than_equal"),
    ({"pageviews": True}, "pageviews", "int_type"),
    ({"pageviews": "5"}, "pageviews", "int_type"),
    ({"sessions": 1.5}, "sessions", "int_from_float"),
    ({"sessions": 2**63}, "sessions", "less_than_equal"),
    ({"sessions": 10**30}, "sessions", "less_than_equal"),
    ({"transactions": False}, "transactions", "int_type"),
    ({"transactions": {"n": 1}}, "transactions", "int_type"),
    ({"purchase_revenue": -0.01}, "purchase_revenue", "greater_than_equal"),
    ({"purchase_revenue": 1e12 + 1}, "purchase_revenue", "less_than_equal"),
    ({"purchase_revenue": "1.5"}, "purchase_revenue", "float_type"),
    ({"purchase_revenue": True}, "purchase_revenue", "float_type"),
    ({"batch_id": "b" * 129}, "batch_id", "string_too_long"),
    ({"batch_id": 7}, "batch_id", "string_type"),
    ({"batch_id": "x\x00"}, "batch_id", "string_nul"),
]


# --- stored rows ---


def ai_platform_ensure(slug: str, name: str, host: str) -> AIPlatform:
    """A seeded platform and its host entry, back after a transactional test's flush."""
    platform, _ = AIPlatform.objects.get_or_create(slug=slug, defaults={"name": name})
    AIPlatformEntry.objects.get_or_create(value=host, defaults={"platform": platform})
    return platform


def sitemap_page(brand, website: str, raw: str) -> SitemapPage:
    url = f"https://{website}{raw}" if raw.startswith("/") else raw
    path = raw.split("?")[0] if raw.startswith("/") else ""
    page, _ = SitemapPage.objects.get_or_create(
        brand=brand,
        website=website,
        page_key=page_key(raw),
        defaults={
            "raw_page_value": raw,
            "url": url,
            "path": path,
            "depth": len([s for s in path.split("/") if s]),
        },
    )
    return page


def row(
    connection: Connection,
    day: str | date,
    platform: str | None,
    page: str,
    *,
    referrer: str | None = None,
    sessions: int | None = None,
    pageviews: int | None = None,
    transactions: int | None = None,
    revenue: str | None = None,
) -> ReferralRow:
    """One stored row; `platform` is a slug (None: a row the allow-list no longer matches)."""
    return ReferralRow.objects.create(
        connection=connection,
        brand_id=connection.brand_id,
        date=date.fromisoformat(day) if isinstance(day, str) else day,
        raw_referrer_value=referrer or platform or "google.com",
        raw_page_value=page,
        page=sitemap_page(connection.brand, connection.website, page),
        platform=AIPlatform.objects.get(slug=platform) if platform else None,
        sessions=sessions,
        pageviews=pageviews,
        transactions=transactions,
        purchase_revenue=Decimal(revenue) if revenue is not None else None,
        updated_at=timezone.now(),
    )


def seed_example(connection: Connection) -> None:
    """The hand-computed data set of tests/dashboard/test_views.py (window 2026-05-01..28).

    Current window: 51 sessions, 166 pageviews, 4 transactions, 350.00 revenue.
    Previous window (2026-04-03..30): 40 sessions, 40 pageviews, 2 transactions, 150.00.
    """
    row(connection, "2026-05-01", "chatgpt", "/blog/a", referrer="chatgpt.com",
        sessions=10, pageviews=20, transactions=1, revenue="100.50")  # fmt: skip
    row(connection, "2026-05-01", "claude", "/blog/a", referrer="claude.ai",
        sessions=5, pageviews=6, transactions=0)  # fmt: skip
    row(connection, "2026-05-02", "chatgpt", "/pricing", referrer="chatgpt.com",
        sessions=20, pageviews=30, transactions=2, revenue="200")  # fmt: skip
    row(connection, "2026-05-03", "gemini", "/launch", referrer="gemini.google.com",
        sessions=1, pageviews=100)  # fmt: skip
    row(connection, "2026-05-28", "perplexity", "/blog/a", referrer="perplexity.ai",
        sessions=5, transactions=1, revenue="49.50")  # fmt: skip
    row(connection, "2026-05-28", "chatgpt", "/pricing", referrer="chat.openai.com",
        sessions=10, pageviews=10, transactions=0, revenue="0")  # fmt: skip
    # Not counted: a row whose referrer no longer matches any platform.
    row(connection, "2026-05-03", None, "/pricing", referrer="google.com", sessions=1000)
    # The previous period, and one day before it.
    row(connection, "2026-04-30", "chatgpt", "/blog/a", referrer="chatgpt.com",
        sessions=25, pageviews=40, transactions=2, revenue="150")  # fmt: skip
    row(connection, "2026-04-03", "claude", "/pricing", referrer="claude.ai",
        sessions=15, pageviews=0, transactions=0)  # fmt: skip
    row(connection, "2026-04-02", "claude", "/pricing", referrer="claude.ai", sessions=500)


DEMO_PAGES = (
    "/",
    "/pricing",
    "/blog/how-ai-assistants-choose-sources",
    "/docs/getting-started",
    "/blog/launch-notes",
    "/products/trail-runner-2",
    "/compare/acme-vs-globex",
    "/docs/api/authentication",
    "/blog/2026/05/what-is-generative-engine-optimization-and-why-it-matters-for-ecommerce"
    "?utm_campaign=spring&ref=newsletter-issue-42",
    "/careers",
    "/help/returns",
    "/products/trail-runner-2/reviews",
)
DEMO_PLATFORMS = {  # slug: share of sessions
    "chatgpt": 0.52,
    "perplexity": 0.17,
    "gemini": 0.12,
    "copilot": 0.08,
    "claude": 0.07,
    "deepseek": 0.04,
}


def seed_demo_traffic(connection: Connection, *, end: date, days: int = 56) -> int:
    """Plausible, deterministic traffic for screenshots: growth, weekly rhythm, long tail."""
    rng = random.Random(20260528)
    pages = [sitemap_page(connection.brand, connection.website, raw) for raw in DEMO_PAGES]
    # An earlier transactional test's flush may have removed the seeded platforms.
    names = {"chatgpt": "ChatGPT", "perplexity": "Perplexity", "gemini": "Gemini"}
    names |= {"copilot": "Microsoft Copilot", "claude": "Claude", "deepseek": "DeepSeek"}
    platforms = {
        slug: AIPlatform.objects.get_or_create(slug=slug, defaults={"name": names[slug]})[0]
        for slug in DEMO_PLATFORMS
    }
    now = timezone.now()
    rows = []
    for offset in range(days):
        day = end - timedelta(days=days - 1 - offset)
        trend = 40 + offset * 1.1
        weekly = 0.75 if day.weekday() >= 5 else 1.0
        for slug, share in DEMO_PLATFORMS.items():
            for rank, page in enumerate(pages):
                weight = 1 / (rank + 1) ** 0.9
                mean = (
                    trend
                    * weekly
                    * share
                    * weight
                    * (1.6 if slug == "claude" and offset > 30 else 1)
                )
                sessions = max(0, int(rng.gauss(mean, math.sqrt(mean + 1))))
                if not sessions:
                    continue
                transactions = sum(rng.random() < 0.035 for _ in range(sessions))
                rows.append(
                    ReferralRow(
                        connection=connection,
                        brand_id=connection.brand_id,
                        date=day,
                        raw_referrer_value=f"https://{slug}.example/",
                        raw_page_value=page.raw_page_value,
                        page=page,
                        platform=platforms[slug],
                        sessions=sessions,
                        pageviews=sessions + int(sessions * rng.uniform(0.3, 1.4)),
                        transactions=transactions,
                        purchase_revenue=Decimal(transactions * rng.uniform(40, 160)).quantize(
                            Decimal("0.01")
                        ),
                        updated_at=now,
                    )
                )
    ReferralRow.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- the daily rollup ---


def rollup_from_rows(connection: Connection, rows: type[Model] = ReferralRow) -> dict:
    """What the rollup must hold: the rows grouped by (day, platform), NULL metrics as 0.

    `rows` may be a historical model (a migration's state), whose columns differ.
    """
    counted = rows.objects.filter(connection_id=connection.pk, platform__isnull=False)
    return _counted_sums(counted, "date", "platform_id")


def _counted_sums(rows, *keys: str) -> dict:
    """(row count, pageviews, sessions, transactions, revenue) of rows per `keys`, NULL as 0."""
    groups = rows.values(*keys).annotate(
        n=Count("id"),
        pv=Coalesce(Sum("pageviews"), 0),
        s=Coalesce(Sum("sessions"), 0),
        t=Coalesce(Sum("transactions"), 0),
        r=Sum("purchase_revenue"),
    )
    return {
        tuple(g[k] for k in keys): (g["n"], g["pv"], g["s"], g["t"], Decimal(g["r"] or 0))
        for g in groups
    }


def _stored_sums(totals) -> tuple:
    """A rollup entry's sums in the order of _counted_sums."""
    return (
        totals.row_count,
        totals.pageviews,
        totals.sessions,
        totals.transactions,
        totals.purchase_revenue,
    )


def rollup_stored(connection: Connection) -> dict:
    return {
        (d.date, d.platform_id): _stored_sums(d)
        for d in DailyPlatformTotal.objects.filter(connection=connection)
    }


def page_rollup_from_rows(connection: Connection) -> dict:
    """What the monthly page rollup must hold: the counted rows by (month, page)."""
    counted = ReferralRow.objects.filter(connection_id=connection.pk, platform__isnull=False)
    monthly: dict = {}
    for (day, page_id), sums in _counted_sums(counted, "date", "page_id").items():
        key = (day.replace(day=1), page_id)
        before = monthly.get(key, (0, 0, 0, 0, Decimal(0)))
        monthly[key] = tuple(a + b for a, b in zip(before, sums, strict=True))
    return monthly


def page_rollup_stored(connection: Connection) -> dict:
    return {
        (m.month, m.page_id): _stored_sums(m)
        for m in MonthlyPageTotal.objects.filter(connection=connection)
    }


# --- agent traffic ---

GPTBOT_UA = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot"
)
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def agent_connection_make(brand, website: str = "example.com", provider: str = "cloudflare"):
    return Connection.objects.create(brand=brand, website=website, provider=provider, kind="agent")


def agent_url(connection, brand_id=None):
    brand_id = brand_id or connection.brand_id
    return f"/v1/{brand_id}/agent-traffic/connections/{connection.pk}/events"


def agent_event(**overrides):
    base = {
        "date": "2026-05-20",
        "raw_user_agent": GPTBOT_UA,
        "raw_page_value": "/blog/launch-notes",
        "hits": 12,
        "verified": True,
        "batch_id": "a-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def agent_push(client, connection, events, fmt="json", query="", **extra):
    if fmt == "json":
        body, content_type = json.dumps(events), "application/json"
    else:
        body = "\n".join(json.dumps(e) for e in events)
        content_type = "application/x-ndjson"
    return client.post(agent_url(connection) + query, body, content_type=content_type, **extra)


class BrokenBody(io.BytesIO):
    """A request body as a WSGI server delivers one it cannot finish reading: the client
    closed the connection before its end (gunicorn's NoMoreData, an OSError), sent malformed
    chunk framing, or stopped sending (the TimeoutError of REQUEST_BODY_TIMEOUT)."""

    def __init__(self, body: bytes, error: Exception):
        super().__init__(body)
        self.error = error

    def read(self, size=-1):
        """As gunicorn's reader: `size` bytes, or the error where the body breaks off."""
        if size is None or size < 0 or self.tell() + size > len(self.getvalue()):
            raise self.error
        return super().read(size)
