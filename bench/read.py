"""Read benchmark: the dashboard and the sitemap listing over 5,000,000 rows of one brand.

Run with `make bench-read` (starts a throwaway PostgreSQL) or with DATABASE_URL set to an
empty PostgreSQL database. Loads 2 websites × 365 days × 10,000 pages each (20,000 pages),
15 platforms, 5,000,000 rows in all, then prints the median server time (in-process, no
HTTP) of the dashboard page and of the sitemap page listing for a 28- and a 365-day window.
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
WEBSITES = ("shop.example", "blog.example")
PAGES_PER_SITE = 10_000
DAYS = 365
END = date(2026, 11, 20)
REFERRERS_PER_PLATFORM = 2


def load(brand, connections) -> None:
    """Pages and rows with generate_series: a few minutes for 5M rows, once."""
    from django.db import connection as db

    from referrals.ingest.upsert import pages_ensure
    from referrals.models import AIPlatform

    platforms = list(AIPlatform.objects.order_by("id").values_list("id", "slug"))[:15]
    referrers = [
        (pid, f"https://{slug}.example/r{i}")
        for pid, slug in platforms
        for i in range(REFERRERS_PER_PLATFORM)
    ]
    per_day = ROWS // (len(connections) * DAYS)
    with db.cursor() as cursor:
        for connection in connections:
            pages_ensure(
                connection=connection,
                raw_values=[f"/section-{i % 40}/page-{i}" for i in range(PAGES_PER_SITE)],
            )
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_refs (n int, platform_id bigint, raw text)"
            )
            cursor.execute("TRUNCATE bench_refs")
            cursor.executemany(
                "INSERT INTO bench_refs VALUES (%s, %s, %s)",
                [(n, pid, raw) for n, (pid, raw) in enumerate(referrers)],
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_pages AS SELECT row_number() OVER (ORDER BY id) - 1 AS n,"
                " id, raw_page_value FROM referrals_sitemappage"
                " WHERE brand_id = %s AND website = %s",
                [brand.pk, connection.website],
            )
            # For a fixed day, k -> page is a bijection (7919 is prime to 10,000): keys unique.
            cursor.execute(
                "INSERT INTO referrals_referralrow (connection_id, brand_id, date,"
                " raw_referrer_value, raw_page_value, page_id, platform_id, pageviews, sessions,"
                " transactions, purchase_revenue, batch_id, updated_at) "
                "SELECT %s, %s, %s::date - d, r.raw, p.raw_page_value, p.id, r.platform_id,"
                " 5 + (k %% 17), 1 + (k %% 11), (k %% 23 = 0)::int, (k %% 23 = 0)::int * 49.90,"
                " 'bench', now() "
                "FROM generate_series(0, %s - 1) AS d CROSS JOIN generate_series(0, %s - 1) AS k "
                "JOIN bench_pages p ON p.n = (k * 7919 + d) %% %s "
                "JOIN bench_refs r ON r.n = (k + d) %% %s",
                [connection.pk, brand.pk, END, DAYS, per_day, PAGES_PER_SITE, len(referrers)],
            )
            cursor.execute("DROP TABLE bench_pages")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM referrals_referralrow WHERE brand_id = %s", [brand.pk])
        print(f"loaded {cursor.fetchone()[0]:,} rows for brand {brand.pk}")


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
        sys.exit("Set DATABASE_URL to an empty PostgreSQL database, or run `make bench-read`.")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from referrals.connections.services import connection_register
    from referrals.models import (
        Brand,
        Connection,
        Organization,
        ReferralRow,
    )
    from referrals.tenancy.services import api_key_create

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(name="Read bench")
    brand, _ = Brand.objects.get_or_create(organization=org, name="Read bench")
    if not ReferralRow.objects.filter(brand=brand).exists():  # loaded once per database
        connections = [
            Connection.objects.filter(brand=brand, website=w, status="active").first()
            or connection_register(brand=brand, website=w, provider="adobe_analytics")
            for w in WEBSITES
        ]
        started = time.perf_counter()
        load(brand, connections)
        print(f"load took {time.perf_counter() - started:.0f} s")
    token = api_key_create(organization=org, name="bench", scopes=["query"]).token
    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    org.members.add(user)

    browser = Client()
    browser.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    website = WEBSITES[0]
    results = []
    for days in (28, 365):
        start = (END - timedelta(days=days - 1)).isoformat()
        window = f"start_date={start}&end_date={END.isoformat()}"
        dashboard = f"/dashboard/?brand={brand.pk}&website={website}&{window}"
        sitemap = f"/v1/{brand.pk}/sitemap/pages?domain={website}&{window}"
        ranked = sitemap + "&ordering=-ai_referrals"
        target = 300 if days == 28 else 1000
        results.append((f"dashboard, {days} days", median_ms(browser, dashboard), target))
        target = 200 if days == 28 else 1000
        results.append((f"sitemap pages, {days} days", median_ms(api, sitemap), target))
        results.append(
            (f"sitemap pages -ai_referrals, {days} days", median_ms(api, ranked), target)
        )
    print(f"\nmedian server time over {RUNS} runs, {ROWS:,} rows")
    for name, value, target in results:
        verdict = "ok" if value <= target else "OVER"
        print(f"  {name:<40}{value:8.1f} ms   (target <= {target} ms: {verdict})")
    print(calibration_line())


if __name__ == "__main__":
    main()
