"""Citus benchmark: the same workload on a Citus cluster and on plain PostgreSQL, in one run.

Run with `make bench-citus` (scripts/bench.sh starts a plain PostgreSQL and a Citus cluster of a
coordinator and two workers, both with fsync off as in the tests, so the ratio compares like
with like), or set PLAIN_DATABASE_URL and CITUS_DATABASE_URL to empty databases. For each
database, in a process of its own, through gunicorn (4 workers):

1. BENCH_BRANDS brands (100) × one 10,000-row NDJSON push each: the load rate;
2. with those rows stored (1,000,000 for 100 brands), BENCH_PUSHES pushes of one brand's batch
   with every row changed (its metrics differ each time): the median push;
3. the dashboard and the sitemap listing of that brand for 28 and 365 days (median server time,
   in process, no HTTP);
4. one write of a connection's `last_pushed_at` (a reference table on Citus: every node writes);
5. the invariants, after re-sends (2.), concurrent pushes (4 brands at once, and 2 pushes to one
   brand at once), a renormalization after an allow-list change, and a connection's deletion:
   the rollup equals a GROUP BY of the rows for every brand; on Citus, every brand's rows,
   pages and rollup sit in exactly one shard per table, all of them on one node;
6. the spec's merge floor on the same server (bench/ingest.py) for the batches of 2.: the push
   against it (target <= 1.6 on each database).

Prints each figure for both databases with the ratio cluster / plain and its target.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)
from bench.ingest import (  # noqa: E402
    dsn_from_settings,
    floor_records,
    http_push,
    spec_floor_create,
    spec_floor_merge,
)
from bench.read import median_ms  # noqa: E402
from reliability.harness import setup_django, start_gunicorn  # noqa: E402
from reliability.workload import AI_REFERRERS, BATCH, make_batch, ndjson  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "1000000/min"
os.environ["API_RATE_LIMIT"] = "1000000/min"
os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"

BRANDS = int(os.environ.get("BENCH_BRANDS", "100"))
PUSHES = int(os.environ.get("BENCH_PUSHES", "7"))
END = datetime.now(UTC).date() - timedelta(days=3)
PORT = 8791
DISTRIBUTED = ("referrals_referralrow", "referrals_sitemappage", "referrals_dailyplatformtotal")
TARGETS = {"push": 1.3, "read": 1.5, "floor": 1.6}


def load_batch(seed: int) -> list[dict]:
    """10,000 rows of AI referrers only (the workload's batch keeps 80%): ~9,950 distinct keys
    each, so 100 brands store about 1,000,000 rows."""
    events = make_batch(seed, END)
    return [
        {**e, "raw_referrer_value": AI_REFERRERS[i % len(AI_REFERRERS)]}
        for i, e in enumerate(events)
    ]


def changed(events: list[dict], k: int) -> list[dict]:
    """The same keys with every row's metrics different from the previous push's."""
    return [{**e, "sessions": e["sessions"] + k, "pageviews": e["pageviews"] + k} for e in events]


def seed(brands: int):
    """One organization, `brands` brands with an active connection each, one token."""
    from referrals.connections.services import connection_register
    from referrals.models import Brand, Organization
    from referrals.tenancy.services import api_key_create

    org = Organization.objects.create(name=f"Citus bench {time.time_ns()}")
    tenants = []
    for i in range(brands):
        brand = Brand.objects.create(organization=org, name=f"Brand {i}")
        connection = connection_register(
            brand=brand, website=f"brand-{i}.example", provider="adobe_analytics"
        )
        tenants.append((brand.pk, connection.pk))
    token = api_key_create(organization=org, name="bench", scopes=["configure", "query"]).token
    return org, tenants, token


def events_path(brand_id: int, connection_id: str) -> str:
    return f"/v1/{brand_id}/ai-referrals/connections/{connection_id}/events"


def push_all_at_once(token: str, pushes: list[tuple[str, bytes]]) -> None:
    """Each (path, body) pushed from a thread of its own, all started together."""
    errors = []

    def one(path: str, body: bytes) -> None:
        try:
            http_push(PORT, path, token, body)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=one, args=push) for push in pushes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"concurrent pushes failed: {errors}")


def reads(org, brand_id: int, token: str) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    org.members.add(user)
    browser = Client()
    browser.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    website = "brand-0.example"
    figures = {}
    for days in (28, 365):
        window = f"start_date={END - timedelta(days=days - 1)}&end_date={END}"
        dashboard = f"/dashboard/?brand={brand_id}&website={website}&{window}"
        figures[f"dashboard, {days} days"] = median_ms(browser, dashboard)
        sitemap = f"/v1/{brand_id}/sitemap/pages?domain={website}&{window}"
        figures[f"sitemap pages, {days} days"] = median_ms(api, sitemap)
    return figures


def connection_write_ms(connection_id: str) -> float:
    """One autocommitted write of last_pushed_at, as every push makes (median of 50)."""
    from django.utils import timezone

    from referrals.models import Connection

    times = []
    for _ in range(50):
        started = time.perf_counter()
        Connection.objects.filter(pk=connection_id).update(last_pushed_at=timezone.now())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rollup_mismatches() -> int:
    """(brand, connection, day, platform) groups, all brands, where the rollup and a GROUP BY
    of the rows differ."""
    from reliability.harness import sql

    (count,) = sql(
        "SELECT count(*) FROM (SELECT brand_id, connection_id, date, platform_id, count(*) AS n,"
        " sum(coalesce(pageviews, 0)) AS pv, sum(coalesce(sessions, 0)) AS s,"
        " sum(coalesce(transactions, 0)) AS t, sum(coalesce(purchase_revenue, 0)) AS r"
        " FROM referrals_referralrow WHERE platform_id IS NOT NULL"
        " GROUP BY brand_id, connection_id, date, platform_id) g"
        " FULL JOIN referrals_dailyplatformtotal d ON d.brand_id = g.brand_id"
        " AND d.connection_id = g.connection_id AND d.date = g.date"
        " AND d.platform_id = g.platform_id"
        " WHERE (g.n, g.pv, g.s, g.t, g.r) IS DISTINCT FROM"
        " (d.row_count, d.pageviews, d.sessions, d.transactions, d.purchase_revenue)"
    )[0]
    return count


def shards_per_brand() -> tuple[int, int, int]:
    """(brands in more than one shard of a table, brands whose shards sit on more than one node,
    brands found) over the distributed tables, asking every shard what it holds."""
    from reliability.harness import sql

    shards_of = defaultdict(set)  # (table, brand) -> shards
    node_of = dict(sql("SELECT shardid, nodename || ':' || nodeport FROM pg_dist_shard_placement"))
    for table in DISTRIBUTED:
        results = sql(
            "SELECT shardid, result FROM run_command_on_shards(%s, "
            "$$SELECT coalesce(string_agg(DISTINCT brand_id::text, ','), '') FROM %%s$$)",
            [table],
        )
        for shard, result in results:
            for brand in filter(None, result.split(",")):
                shards_of[(table, int(brand))].add(shard)
    brands = {brand for _, brand in shards_of}
    split = {brand for (_, brand), shards in shards_of.items() if len(shards) != 1}
    nodes = defaultdict(set)
    for (_, brand), shards in shards_of.items():
        nodes[brand] |= {node_of[shard] for shard in shards}
    spread = {brand for brand, where in nodes.items() if len(where) != 1}
    return len(split), len(spread), len(brands)


def renormalize_after_allow_list_change() -> None:
    """An allow-list change (Perplexity off), renormalized; then back on, renormalized."""
    from django.core.management import call_command
    from django.utils import timezone

    from referrals.models import AIPlatform

    for active in (False, True):  # updated_at changes the allow-list's fingerprint
        perplexity = AIPlatform.objects.filter(slug="perplexity")
        perplexity.update(active=active, updated_at=timezone.now())
        call_command("renormalize_referrers", stdout=open(os.devnull, "w"))  # noqa: SIM115


def connection_delete(connection_id: str) -> None:
    """As the admin deletes a connection: its big tables set-based, then the connection."""
    from referrals.admin.deletion import connections_cascade, objects_delete
    from referrals.models import Connection

    selected = Connection.objects.filter(pk=connection_id)
    objects_delete(objects=selected, cascade=connections_cascade(selected))


def phase() -> dict:
    """The whole workload against this process's DATABASE_URL; figures as a dict."""
    warnings.filterwarnings("ignore", message="No directory at")  # static files: not served
    setup_django()
    from django.db import connections

    from referrals.db.citus import citus_installed
    from referrals.models import ReferralRow

    citus = citus_installed(db=connections["default"])
    org, tenants, token = seed(BRANDS)
    connections.close_all()
    server = start_gunicorn({}, PORT, workers=4)
    try:
        started = time.perf_counter()
        for i, (brand_id, connection_id) in enumerate(tenants):
            http_push(PORT, events_path(brand_id, connection_id), token, ndjson(load_batch(i)))
        load_s = time.perf_counter() - started
        stored = ReferralRow.objects.count()

        brand_id, connection_id = tenants[0]
        batch = make_batch(0, END)
        pushes = [
            http_push(PORT, events_path(brand_id, connection_id), token, ndjson(changed(batch, k)))
            for k in range(1, PUSHES + 1)
        ]
        push_s = statistics.median(elapsed for elapsed, _ in pushes)
        assert all(outcome["accepted"] + outcome["rejected"] == BATCH for _, outcome in pushes)

        concurrent = [
            (events_path(*tenants[i % len(tenants)]), ndjson(make_batch(500 + i, END)))
            for i in range(1, 5)
        ]
        same_brand = events_path(*tenants[-1])
        concurrent += [(same_brand, ndjson(make_batch(600 + k, END))) for k in range(2)]
        push_all_at_once(token, concurrent)
    finally:
        server.terminate()
        server.wait()
    figures = reads(org, brand_id, token)
    figures["merge floor"] = spec_floor_ms(connection_id, batch)
    renormalize_after_allow_list_change()
    if len(tenants) > 1:
        connection_delete(tenants[1][1])
    result = {
        "citus": citus,
        "rows stored": stored,
        "load": BRANDS * BATCH / load_s,
        "push": push_s * 1000,
        **figures,
        "connection write": connection_write_ms(connection_id),
        "rollup mismatches": rollup_mismatches(),
    }
    if citus:
        split, spread, brands = shards_per_brand()
        result.update({"brands split": split, "brands spread": spread, "brands found": brands})
    return result


def spec_floor_ms(connection_id: str, batch: list[dict]) -> float:
    """The spec's merge floor on this server (bench/ingest.py): the same changed batches
    merged by raw psycopg into a plain local table holding a copy of every stored row (on
    Citus, a table of the coordinator). Median ms."""
    from referrals.models import Connection

    connection = Connection.objects.get(pk=connection_id)
    dsn = dsn_from_settings()
    spec_floor_create(dsn)
    return statistics.median(
        spec_floor_merge(dsn, connection, floor_records(connection, changed(batch, k))) * 1000
        for k in range(PUSHES + 1, 2 * PUSHES + 1)
    )


def run_phase(url: str) -> dict:
    """phase() in a process of its own: Django binds one database per process."""
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), __file__, "--phase"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:] == ["--phase"]:
        print(json.dumps(phase()))
        return
    plain_url = os.environ.get("PLAIN_DATABASE_URL")
    citus_url = os.environ.get("CITUS_DATABASE_URL")
    if not (plain_url and citus_url):
        sys.exit("Set PLAIN_DATABASE_URL and CITUS_DATABASE_URL, or run `make bench-citus`.")
    plain = run_phase(plain_url)
    cluster = run_phase(citus_url)
    assert cluster["citus"] and not plain["citus"], "CITUS_DATABASE_URL must be a Citus cluster"

    print(f"\n{BRANDS} brands x {BATCH:,} rows pushed; {cluster['rows stored']:,} rows stored")
    print(f"  {'':<48}{'plain':>10}{'Citus':>10}{'ratio':>8}   target")
    timed = [
        (f"load (rows/s, {BRANDS} pushes)", "load", None),
        (f"push, every row changed (ms, median of {PUSHES})", "push", TARGETS["push"]),
        *[
            (f"{name} (ms)", name, TARGETS["read"])
            for name in (
                "dashboard, 28 days",
                "dashboard, 365 days",
                "sitemap pages, 28 days",
                "sitemap pages, 365 days",
            )
        ],
        ("last_pushed_at write (ms)", "connection write", None),
        ("merge floor of the spec, same batches (ms)", "merge floor", None),
    ]
    for label, key, target in timed:
        ratio = cluster[key] / plain[key]
        verdict = "" if target is None else f"<= {target}: {'ok' if ratio <= target else 'OVER'}"
        print(f"  {label:<48}{plain[key]:10.1f}{cluster[key]:10.1f}{ratio:8.2f}   {verdict}")
    floor_ratios = [figures["push"] / figures["merge floor"] for figures in (plain, cluster)]
    verdicts = ", ".join(
        f"{name} {'ok' if ratio <= TARGETS['floor'] else 'OVER'}"
        for name, ratio in zip(("plain", "Citus"), floor_ratios, strict=True)
    )
    print(
        f"  {'push / merge floor of the spec':<48}{floor_ratios[0]:10.2f}{floor_ratios[1]:10.2f}"
        f"{'':8}   <= {TARGETS['floor']}: {verdicts}"
    )
    for name in ("rollup mismatches",):
        print(f"  {name:<48}{plain[name]:10d}{cluster[name]:10d}            (must be 0)")
    print(
        f"  brands in more than one shard of a table: {cluster['brands split']}, on more than "
        f"one node: {cluster['brands spread']} (of {cluster['brands found']}; both must be 0)"
    )
    print(calibration_line())


if __name__ == "__main__":
    main()
