"""Read benchmark: the dashboard and the sitemap reads over 5,000,000 rows of one brand.

Run with `make bench-read` (starts a throwaway PostgreSQL; BENCH_READ_CITUS=1 starts a Citus
cluster instead, see scripts/bench.sh) or with DATABASE_URL set to an empty PostgreSQL or
Citus database. Loads 2 websites × 365 days × 10,000 pages each (20,000 pages), 15 platforms,
5,000,000 rows in all, then prints the median server time (in-process, no HTTP) of the
dashboard page, the sitemap listing (by depth,url and by -ai_referrals) and the sitemap export
for 28-, 365- and 366-day windows ending on the last day, each against its target, and the
365/28 ratios (issue 15).

BENCH_READ_ROWS=20000000 loads four times the history with the same brand shape: the same
rows per day, websites and pages, over 4 × 365 days (the windows read stay the same). The
rows go in by generate_series with the rollups' triggers dropped, then each rollup is
recomputed in one INSERT ... SELECT (rollup_repair, which reinstalls the triggers). The
covering index `referral_row_window` is dropped first: the reads must not rely on it (the
lean rows table of issue 15 drops it).
`make bench-read` starts its server with a quarter of the machine's memory as
shared_buffers, as a production server has (docs/operations.md); the header prints it.
Issue 17 adds the dashboard's filtered reads (one platform, a section of 1/40 of the pages,
the priority pages, a platform and a section together) and a page's own view, against the
same 300 ms target.
"""

import json
import os
import statistics
import sys
import tempfile
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
BASE_ROWS = 5_000_000
# The history grows in days: the same rows per day (the brand's shape) at any scale.
DAYS = 365 * max(1, round(ROWS / BASE_ROWS))
WINDOWS = (28, 365, 366)
TARGET_MS = 300  # any window up to 366 days (issue 15)
TARGET_RATIO = 1.5  # the 365-day read against the 28-day read of the same run
TARGET_SCALE = 1.3  # a read over 20M rows against the same read over 5M
COVERING_INDEX = "referral_row_window"
END = date(2026, 11, 20)
REFERRERS_PER_PLATFORM = 2
FILTER_PLATFORM = "chatgpt"  # one of the 15 platforms loaded


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
    per_day = min(ROWS, BASE_ROWS) // (len(connections) * 365)  # fewer: a smoke run
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
                "JOIN bench_refs r ON r.n = (k + d) %% %s "
                # Day after day and, within a day, in the order of the rows' key (date, page,
                # referrer), as a push writes them (referrals.ingest.upsert sorts its records):
                # in the join's order every row of a day sat on a heap page of its own, and a
                # range of the key read one heap page per row.
                "ORDER BY d DESC, p.id, r.raw",
                [connection.pk, brand.pk, END, DAYS, per_day, PAGES_PER_SITE, len(referrers)],
            )
            cursor.execute("DROP TABLE bench_pages")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM referrals_referralrow WHERE brand_id = %s", [brand.pk])
        print(f"loaded {cursor.fetchone()[0]:,} rows for brand {brand.pk}")


def load_fast(brand, connections) -> None:
    """The load with the rollups' triggers dropped, then each rollup recomputed at once."""
    from django.db import connection as db

    from referrals.db.rollup import rollup_models, rollup_repair, rollup_spec, rollup_triggers_drop
    from referrals.models import ReferralRow

    for totals in rollup_models():
        rollup_triggers_drop(db=db, rows=ReferralRow, rollup=rollup_spec(totals).name)
    load(brand, connections)
    for totals in rollup_models():
        started = time.perf_counter()
        written = rollup_repair(db=db, rows=ReferralRow, totals=totals)
        took = time.perf_counter() - started
        print(f"{totals._meta.verbose_name_plural}: {written:,} filled in {took:.0f} s")
    # What autovacuum does to tables that took millions of rows (statistics, hint bits, the
    # visibility map), then the checkpoint that writes what it dirtied, before the reads are
    # timed: either one running during the reads made some windows 2-3x slower than others.
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


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
        PriorityPath,
        ReferralRow,
        SitemapPage,
    )
    from referrals.tenancy.services import api_key_create

    call_command("migrate", verbosity=0)
    from django.db import connection as db

    from referrals.db.citus import citus_installed

    with db.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {COVERING_INDEX}")
    org, _ = Organization.objects.get_or_create(name="Read bench")
    brand, _ = Brand.objects.get_or_create(organization=org, name="Read bench")
    if not ReferralRow.objects.filter(brand=brand).exists():  # loaded once per database
        connections = [
            Connection.objects.filter(brand=brand, website=w, status="active").first()
            or connection_register(brand=brand, website=w, provider="adobe_analytics")
            for w in WEBSITES
        ]
        started = time.perf_counter()
        load_fast(brand, connections)
        print(f"load took {time.perf_counter() - started:.0f} s")
    token = api_key_create(organization=org, name="bench", scopes=["query"]).token
    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    org.members.add(user)

    browser = Client()
    browser.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    website = WEBSITES[0]
    PriorityPath.objects.get_or_create(brand=brand, website=website, path="/section-7")
    dashboard = f"/dashboard/?brand={brand.pk}&website={website}"
    page = SitemapPage.objects.filter(brand=brand, website=website).order_by("id").first()
    reads = {
        "dashboard": (browser, dashboard),
        "dashboard platform=": (browser, f"{dashboard}&platform={FILTER_PLATFORM}"),
        "dashboard path_prefix=": (browser, f"{dashboard}&path_prefix=/section-3"),
        "dashboard priority=1": (browser, f"{dashboard}&priority=1"),
        "dashboard platform+path_prefix": (
            browser,
            f"{dashboard}&platform={FILTER_PLATFORM}&path_prefix=/section-3",
        ),
        "dashboard page view": (
            browser,
            f"/dashboard/page/?brand={brand.pk}&website={website}&page={page.pk}",
        ),
        "sitemap pages depth,url": (api, f"/v1/{brand.pk}/sitemap/pages?domain={website}"),
        "sitemap pages -ai_referrals": (
            api,
            f"/v1/{brand.pk}/sitemap/pages?domain={website}&ordering=-ai_referrals",
        ),
        "sitemap export -ai_referrals": (
            api,
            f"/v1/{brand.pk}/sitemap/export?domain={website}&ordering=-ai_referrals",
        ),
    }
    only = os.environ.get("BENCH_READS")  # e.g. "dashboard;sitemap pages -ai_referrals"
    if only:
        reads = {name: read for name, read in reads.items() if name in only.split(";")}
    figures: dict[tuple[str, int], float] = {}
    for days in WINDOWS:
        start = (END - timedelta(days=days - 1)).isoformat()
        window = f"start_date={start}&end_date={END.isoformat()}"
        for name, (client, url) in reads.items():
            figures[(name, days)] = median_ms(client, f"{url}&{window}")
    database = "Citus" if citus_installed(db=db) else "PostgreSQL"
    with db.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print(
        f"\nmedian server time over {RUNS} runs, {ROWS:,} rows ({DAYS} days), {database}, "
        f"shared_buffers {buffers}"
    )
    misses = 0
    for (name, days), value in figures.items():
        verdict = "ok" if value <= TARGET_MS else "MISS"
        misses += verdict == "MISS"
        label = f"{name}, {days} days"
        print(f"  {label:<46}{value:8.1f} ms   (target <= {TARGET_MS} ms: {verdict})")
    for name in reads:
        ratio = figures[(name, 365)] / figures[(name, 28)]
        verdict = "ok" if ratio <= TARGET_RATIO else "MISS"
        misses += verdict == "MISS"
        label = f"{name}, 365 / 28 days"
        print(f"  {label:<46}{ratio:8.2f} x    (target <= {TARGET_RATIO} x: {verdict})")
    saved = Path(tempfile.gettempdir()) / f"bench-read-{database.lower()}-{{rows}}.json"
    saved_here = str(saved).format(rows=ROWS)
    Path(saved_here).write_text(json.dumps({f"{n}|{d}": v for (n, d), v in figures.items()}))
    base = Path(str(saved).format(rows=BASE_ROWS))
    if ROWS > BASE_ROWS and base.exists():  # against the 5M run of the same database
        before = json.loads(base.read_text())
        for (name, days), value in figures.items():
            if f"{name}|{days}" not in before:
                continue
            ratio = value / before[f"{name}|{days}"]
            verdict = "ok" if ratio <= TARGET_SCALE else "MISS"
            misses += verdict == "MISS"
            label = f"{name}, {days} days, vs {BASE_ROWS:,} rows"
            print(f"  {label:<46}{ratio:8.2f} x    (target <= {TARGET_SCALE} x: {verdict})")
    elif ROWS == BASE_ROWS:
        print(f"  saved in {saved_here}: BENCH_READ_ROWS=20000000 on another database compares")
    print(calibration_line())
    if misses:
        print(f"{misses} MISS")


if __name__ == "__main__":
    main()
