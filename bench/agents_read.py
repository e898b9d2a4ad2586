"""Read benchmark of agent traffic: the dashboard (its AI agents section) and the sitemap
listing over 5,000,000 agent-traffic rows of one website.

Run with DATABASE_URL set to an empty PostgreSQL database (or `scripts/bench.sh agents_read`
if present). Loads 10,000 pages × 365 days with the seeded agents' user agents (5,000,000
rows), fills the agent rollup, then prints the median server time (in-process, no HTTP) of
the dashboard page and of the sitemap page listing for a 28- and a 365-day window, against
the read benchmark's targets for referral rows (bench/read.py).
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["API_RATE_LIMIT"] = "1000000/min"

ROWS = int(os.environ.get("BENCH_READ_ROWS", "5000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
WEBSITE = "logs.example"
PAGES = 10_000
DAYS = 365
END = date(2026, 11, 20)


def load(connection) -> None:
    """Pages, rows (generate_series) and the rollup: a few minutes for 5M rows, once."""
    from django.db import connection as db

    from referrals.ingest.upsert import pages_ensure
    from referrals.models import AIAgent
    from referrals.reporting.agents import agent_rollup_refresh

    agents = list(AIAgent.objects.order_by("id").values_list("id", "token"))
    per_day = ROWS // DAYS
    pages_ensure(
        connection=connection,
        raw_values=[f"/section-{i % 40}/page-{i}" for i in range(PAGES)],
    )
    with db.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_agents (n int, agent_id bigint, ua text)")
        cursor.executemany(
            "INSERT INTO bench_agents VALUES (%s, %s, %s)",
            [
                (n, agent_id, f"Mozilla/5.0 (compatible; {token}/1.{n})")
                for n, (agent_id, token) in enumerate(agents)
            ],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_pages AS SELECT row_number() OVER (ORDER BY id) - 1 AS n,"
            " id, raw_page_value FROM referrals_sitemappage WHERE brand_id = %s AND website = %s",
            [connection.brand_id, connection.website],
        )
        # For a fixed day, k -> (page, agent) is a bijection while per_day <= pages × agents.
        cursor.execute(
            "INSERT INTO referrals_agenttrafficrow (connection_id, brand_id, date,"
            " raw_user_agent, user_agent_key, raw_page_value, page_id, agent_id, hits, verified,"
            " batch_id, updated_at) "
            "SELECT %s, %s, %s::date - d, a.ua, encode(sha256(convert_to(a.ua, 'UTF8')), 'hex'),"
            " p.raw_page_value, p.id, a.agent_id, 1 + (k %% 29), (k %% 3 <> 0), 'bench', now() "
            "FROM generate_series(0, %s - 1) AS d CROSS JOIN generate_series(0, %s - 1) AS k "
            "JOIN bench_pages p ON p.n = (k * 7919 + d) %% %s "
            "JOIN bench_agents a ON a.n = (k / %s + d) %% %s",
            [
                connection.pk,
                connection.brand_id,
                END,
                DAYS,
                per_day,
                PAGES,
                PAGES,
                len(agents),
            ],
        )
        agent_rollup_refresh(connection=connection)
    # What autovacuum does to a table that took millions of rows: statistics, and the
    # visibility map that lets the window's reads stay index-only.
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT count(*) FROM referrals_agenttrafficrow WHERE brand_id = %s",
            [connection.brand_id],
        )
        print(f"loaded {cursor.fetchone()[0]:,} agent rows")


def median_ms(client, url: str) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return statistics.median(times)


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to an empty PostgreSQL database.")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from referrals.connections.services import connection_register
    from referrals.models import AgentTrafficRow, Brand, Connection, Organization
    from referrals.tenancy.services import api_key_create

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(name="Agent read bench")
    brand, _ = Brand.objects.get_or_create(organization=org, name="Agent read bench")
    connection = Connection.objects.filter(
        brand=brand, website=WEBSITE, kind="agent", status="active"
    ).first() or connection_register(brand=brand, website=WEBSITE, provider="nginx", kind="agent")
    if not AgentTrafficRow.objects.filter(brand=brand).exists():  # loaded once per database
        started = time.perf_counter()
        load(connection)
        print(f"load took {time.perf_counter() - started:.0f} s")
    token = api_key_create(organization=org, name="bench", scopes=["query"]).token
    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    org.members.add(user)

    browser = Client()
    browser.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    results = []
    for days in (28, 365):
        start = (END - timedelta(days=days - 1)).isoformat()
        window = f"start_date={start}&end_date={END.isoformat()}"
        dashboard = f"/dashboard/?brand={brand.pk}&website={WEBSITE}&{window}"
        sitemap = f"/v1/{brand.pk}/sitemap/pages?domain={WEBSITE}&{window}"
        target = 300 if days == 28 else 1000
        results.append(
            (f"dashboard (AI agents), {days} days", median_ms(browser, dashboard), target)
        )
        target = 200 if days == 28 else 1000
        results.append(
            (f"sitemap pages (agent_traffic), {days} days", median_ms(api, sitemap), target)
        )
    from referrals.dashboard import agents as section
    from referrals.reporting.window import Window

    for days in (28, 365):
        window = Window(END - timedelta(days=days - 1), END)
        for name, read in [
            (
                "series (rollup)",
                lambda w=window: section.agent_series(connection=connection, window=w),
            ),
            (
                "top pages (rows)",
                lambda w=window: section.agent_top_pages(connection=connection, window=w),
            ),
        ]:
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                read()
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {days} days, {name}: {statistics.median(times):.1f} ms")
    print(f"\nmedian server time over {RUNS} runs, {ROWS:,} agent rows")
    for name, value, target in results:
        verdict = "ok" if value <= target else "OVER"
        print(f"  {name:<46}{value:8.1f} ms   (target <= {target} ms: {verdict})")
    print(calibration_line())


if __name__ == "__main__":
    main()
