"""Push benchmark: 10,000-row NDJSON batches through gunicorn into a 1,000,000-row table.

Run with `make bench-ingest` (starts a throwaway PostgreSQL) or with DATABASE_URL set to an
empty PostgreSQL database. Prints medians of: the end-to-end push (HTTP in to response out);
the spec's merge floor (COPY + one INSERT ... ON CONFLICT DO UPDATE by raw psycopg into a
plain table as large as the service's: "Performance yardsticks" in the spec); the same merge
into the service's own table (its indexes and triggers); the naive reference (DRF
ModelSerializer(many=True) + update_or_create per row, 1,000 rows timed and scaled); their
ratios; sustained ingest of 1 and 4 clients to 4 workers; the worker's peak memory; a
10,000-row push on the SQLite default; parse + validate of one batch in process (no HTTP,
no database), to compare schema changes without the database's noise; and what each rollup
and index of the service's table costs the merge statement (bench/push_parts.py).
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)
from reliability.harness import free_port, memory_kib, setup_django, start_gunicorn  # noqa: E402
from reliability.workload import (  # noqa: E402
    BATCH,
    PAGES,
    make_batch,
    ndjson,
    page_value,
    seed_objects,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "100000/min"

PUSHES = int(os.environ.get("BENCH_PUSHES", "9"))
PRELOAD_ROWS = int(os.environ.get("BENCH_PRELOAD_ROWS", "1000000"))
PART_ROUNDS = 7  # rounds of bench/push_parts.py (every variant once a round)
# The preloaded days end here; push i ends i days later, still in the past (dates later than
# tomorrow are refused).
END = datetime.now(UTC).date() - timedelta(days=PUSHES + 2)
_FLOOR_COLUMNS = (
    "date, page_id, raw_referrer_value, raw_page_value, platform_id, pageviews, sessions, "
    "transactions, purchase_revenue, batch_id"
)


def preload(connection, rows: int) -> None:
    """Site-map pages for the batches, and `rows` older rows for the same connection."""
    from django.db import connection as db

    from referrals.ingest.upsert import pages_ensure
    from referrals.models import AIPlatform

    pages_ensure(connection=connection, raw_values=[page_value(i) for i in range(PAGES)])
    platform_ids = list(AIPlatform.objects.values_list("id", flat=True))
    days = rows // PAGES
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO referrals_referralrow (connection_id, brand_id, date, raw_referrer_value,"
            " raw_page_value, page_id, platform_id, pageviews, sessions, transactions,"
            " purchase_revenue, batch_id, updated_at) "
            "SELECT %s, %s, %s::date - d, 'chatgpt.com', p.raw_page_value, p.id,"
            " (%s::bigint[])[1 + (p.id + d) %% %s], 10 + d %% 7, 5 + d %% 5, d %% 2, NULL,"
            " 'preload', now() "
            "FROM generate_series(31, 30 + %s) AS d, referrals_sitemappage p "
            "WHERE p.brand_id = %s AND p.website = %s",
            [
                connection.pk,
                connection.brand_id,
                END,
                platform_ids,
                len(platform_ids),
                days,
                connection.brand_id,
                connection.website,
            ],
        )
        cursor.execute("ANALYZE referrals_referralrow")
        cursor.execute("SELECT count(*) FROM referrals_referralrow")
        print(f"preloaded: {cursor.fetchone()[0]:,} rows in referrals_referralrow")


def worker_pid(master: subprocess.Popen) -> int:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return int(children[0])


def http_push(port: int, path: str, token: str, body: bytes) -> tuple[float, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"push failed: {response.status} {payload[:300]!r}")
    return elapsed, json.loads(payload)


def floor_records(connection, events: list[dict], bump: int = 0) -> list[tuple]:
    """The rows a push of `events` stores, prepared as the floors take them (no validation
    or lookups in their timing): counted rows only, last one per key, in key order."""
    from referrals.allow_list.platforms import matcher_build
    from referrals.allow_list.referrers import ReferrerMatcher
    from referrals.ingest.upsert import pages_ensure

    matcher: ReferrerMatcher = matcher_build()
    page_ids = pages_ensure(connection=connection, raw_values={e["raw_page_value"] for e in events})
    rows = {}
    for e in events:
        platform = matcher.match(e["raw_referrer_value"])
        if platform is not None:
            rows[(e["date"], page_ids[e["raw_page_value"]], e["raw_referrer_value"])] = (
                e["date"],
                page_ids[e["raw_page_value"]],
                e["raw_referrer_value"],
                e["raw_page_value"],
                platform,
                e["pageviews"],
                e["sessions"] + bump,
                e["transactions"],
                e["purchase_revenue"],
                e["batch_id"],
            )
    return sorted(rows.values(), key=lambda r: r[:3])


_ASSIGN = (
    "platform_id = excluded.platform_id, pageviews = excluded.pageviews, "
    "sessions = excluded.sessions, transactions = excluded.transactions, "
    "purchase_revenue = excluded.purchase_revenue, batch_id = excluded.batch_id, "
    "updated_at = excluded.updated_at"
)


def batch_copy(cur, records: list[tuple]) -> None:
    """COPY `records` into a temporary table `batch`, dropped at the transaction's end."""
    cur.execute(
        "CREATE TEMP TABLE batch (date date, page_id bigint, raw_referrer_value text,"
        " raw_page_value text, platform_id bigint, pageviews bigint, sessions bigint,"
        " transactions bigint, purchase_revenue numeric(17,4), batch_id text)"
        " ON COMMIT DROP"
    )
    with cur.copy(f"COPY batch ({_FLOOR_COLUMNS}) FROM STDIN") as copy:
        for record in records:
            copy.write_row(record)


def _copy_merge(dsn_kwargs: dict, records: list[tuple], merge: tuple[str, list]) -> float:
    """Seconds to COPY `records` into a temporary table `batch` and run `merge` (its
    INSERT ... SELECT ... FROM batch ON CONFLICT DO UPDATE), commit included: raw psycopg."""
    import psycopg

    with psycopg.connect(**dsn_kwargs) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur:
            batch_copy(cur, records)
            cur.execute(*merge)
        conn.commit()
        return time.perf_counter() - started


def own_merge_sql(connection) -> tuple[str, list]:
    """The merge of `batch` into the service's own table, and its parameters."""
    cols = _FLOOR_COLUMNS
    return (
        f"INSERT INTO referrals_referralrow (connection_id, brand_id, updated_at, {cols}) "
        f"SELECT %s, %s, now(), {cols} FROM batch "
        "ON CONFLICT (brand_id, connection_id, date, page_id, raw_referrer_value) "
        f"DO UPDATE SET {_ASSIGN}",
        [connection.pk, connection.brand_id],
    )


def floor_merge(dsn_kwargs: dict, connection, records: list[tuple]) -> float:
    """COPY + one INSERT ... ON CONFLICT DO UPDATE into the service's own table (its indexes
    and triggers included), raw psycopg: what the table's design costs at best."""
    return _copy_merge(dsn_kwargs, records, own_merge_sql(connection))


FLOOR_TABLE = "bench_merge_floor"


def spec_floor_create(dsn_kwargs: dict) -> int:
    """The spec's merge floor table ("Performance yardsticks"): a plain table holding as many
    rows as the service's, a bigint primary key, the upsert key's unique index and one
    (tenant, website, date) index without INCLUDE columns, fillfactor 80, no trigger."""
    import psycopg

    with psycopg.connect(**dsn_kwargs, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cur.execute(
            f"CREATE TABLE {FLOOR_TABLE} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " tenant_id bigint NOT NULL, connection_id text NOT NULL, website text NOT NULL,"
            " date date NOT NULL, page_id bigint NOT NULL, raw_referrer_value text NOT NULL,"
            " raw_page_value text NOT NULL, platform_id bigint, pageviews bigint,"
            " sessions bigint, transactions bigint, purchase_revenue numeric(17, 4),"
            " batch_id text, updated_at timestamptz NOT NULL) WITH (fillfactor = 80)"
        )
        cur.execute(
            f"INSERT INTO {FLOOR_TABLE} (tenant_id, connection_id, website, updated_at, "
            f"{_FLOOR_COLUMNS}) SELECT r.brand_id, r.connection_id, c.website, r.updated_at, "
            f"{', '.join('r.' + c.strip() for c in _FLOOR_COLUMNS.split(','))} "
            "FROM referrals_referralrow r JOIN referrals_connection c ON c.id = r.connection_id"
        )
        cur.execute(
            f"CREATE UNIQUE INDEX {FLOOR_TABLE}_key ON {FLOOR_TABLE} "
            "(tenant_id, connection_id, date, page_id, raw_referrer_value)"
        )
        cur.execute(
            f"CREATE INDEX {FLOOR_TABLE}_window ON {FLOOR_TABLE} (tenant_id, website, date)"
        )
        cur.execute(f"VACUUM ANALYZE {FLOOR_TABLE}")
        cur.execute(f"SELECT count(*) FROM {FLOOR_TABLE}")
        return cur.fetchone()[0]


def spec_merge_sql(connection) -> tuple[str, list]:
    """The merge of `batch` into the spec's floor table, and its parameters."""
    return (
        f"INSERT INTO {FLOOR_TABLE} (tenant_id, connection_id, website, updated_at, "
        f"{_FLOOR_COLUMNS}) SELECT %s, %s, %s, now(), {_FLOOR_COLUMNS} FROM batch "
        "ON CONFLICT (tenant_id, connection_id, date, page_id, raw_referrer_value) "
        f"DO UPDATE SET {_ASSIGN}",
        [connection.brand_id, connection.pk, connection.website],
    )


def spec_floor_merge(dsn_kwargs: dict, connection, records: list[tuple]) -> float:
    """COPY the push's rows into a temporary table and merge them into the floor table with
    one INSERT ... ON CONFLICT DO UPDATE, raw psycopg: the spec's merge floor."""
    return _copy_merge(dsn_kwargs, records, spec_merge_sql(connection))


def naive_per_row(connection, events: list[dict]) -> float:
    """What a typical Django build does: ModelSerializer(many=True) + update_or_create per row."""
    from django.db import transaction
    from django.utils import timezone
    from rest_framework import serializers

    from referrals.allow_list.platforms import matcher_build
    from referrals.ingest.schema import FIELDS
    from referrals.models import ReferralRow, SitemapPage, page_key

    class RowSerializer(serializers.ModelSerializer):
        class Meta:
            model = ReferralRow
            fields = list(FIELDS)

    matcher = matcher_build()
    sample = events[:1000]
    started = time.perf_counter()
    with transaction.atomic():
        serializer = RowSerializer(data=sample, many=True)
        serializer.is_valid(raise_exception=True)
        for item in serializer.validated_data:
            platform = matcher.match(item["raw_referrer_value"])
            if platform is None:
                continue
            page = SitemapPage.objects.get(
                brand_id=connection.brand_id,
                website=connection.website,
                page_key=page_key(item["raw_page_value"]),
            )
            ReferralRow.objects.update_or_create(
                connection=connection,
                date=item["date"],
                page=page,
                raw_referrer_value=item["raw_referrer_value"],
                defaults={
                    **item,
                    "brand_id": connection.brand_id,
                    "platform_id": platform,
                    "updated_at": timezone.now(),
                },
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed * len(events) / len(sample)


def dsn_from_settings() -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return {
        "dbname": db["NAME"],
        "user": db["USER"],
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "password": db["PASSWORD"] or None,
    }


def sqlite_push(port: int) -> list[float]:
    """Median of 10,000-row pushes against the SQLite default, through gunicorn."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        out = subprocess.run(
            [str(ROOT / ".venv/bin/python"), __file__, "--seed-only"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        brand_id, connection_id, token = out
        server = start_gunicorn({"DATABASE_URL": url}, port)
        try:
            path = f"/v1/{brand_id}/ai-referrals/connections/{connection_id}/events"
            return [
                http_push(port, path, token, ndjson(make_batch(100 + i, END)))[0] for i in range(5)
            ]
        finally:
            server.terminate()
            server.wait()


def sustained_ingest(port: int, batches: int = 4) -> tuple[float, float]:
    """Rows per second of 10,000-row pushes to gunicorn with 4 workers: one client pushing
    `batches` batches in a row, then 4 clients (a brand each, as 4 ETL jobs) at once."""
    import threading

    tenants = [seed_objects(f"client-{i}.example") for i in range(4)]
    server = start_gunicorn({}, port, workers=4)

    def client(tenant, seed: int) -> None:
        brand, connection, token = tenant
        path = f"/v1/{brand.pk}/ai-referrals/connections/{connection.pk}/events"
        for k in range(batches):
            http_push(port, path, token, ndjson(make_batch(seed * 100 + k, END)))

    try:
        client(tenants[0], 1)  # warm-up: the pages and the workers' imports
        started = time.perf_counter()
        client(tenants[0], 2)
        one = batches * BATCH / (time.perf_counter() - started)
        for i, tenant in enumerate(tenants[1:], start=3):
            client(tenant, i)  # each brand's pages exist before the timing, as for one
        threads = [
            threading.Thread(target=client, args=(tenant, 10 + i))
            for i, tenant in enumerate(tenants)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        four = len(threads) * batches * BATCH / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait()
    return one, four


def parse_seconds(runs: int = 21) -> float:
    """Median time of parse + validate of one 10,000-row NDJSON batch (the msgspec fast path)."""
    from referrals.ingest import parse

    body = ndjson(make_batch(0, END))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        rows, _ = parse.events_parse(body, parse.FORMAT_NDJSON)
        times.append(time.perf_counter() - started)
    assert len(rows) == BATCH
    return statistics.median(times)


def main() -> None:
    if sys.argv[1:] == ["--seed-only"]:  # used by sqlite_push, in a process of its own
        import django

        django.setup()
        brand, connection, token = seed_objects("bench.example")
        print(brand.pk, connection.pk, token)
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to an empty PostgreSQL database, or run `make bench-ingest`.")
    setup_django()
    brand, connection, token = seed_objects("bench.example")
    preload(connection, PRELOAD_ROWS)
    floor_rows = spec_floor_create(dsn_from_settings())
    port = free_port()  # fixed ports met other benchmarks running on the machine
    server = start_gunicorn({}, port)
    try:
        path = f"/v1/{brand.pk}/ai-referrals/connections/{connection.pk}/events"
        http_push(port, path, token, ndjson(make_batch(0, END)))  # warm-up (imports, caches)
        pid = worker_pid(server)
        baseline = memory_kib(pid, "VmRSS")
        pushes, floors, spec_floors, server_ms = [], [], [], []
        from referrals.models import PushLog

        for i in range(1, PUSHES + 1):
            day_end = END + timedelta(days=i)  # a nightly job: a new day and 29 re-sent days
            events = make_batch(i, day_end)
            elapsed, outcome = http_push(port, path, token, ndjson(events))
            assert outcome["accepted"] + outcome["rejected"] == BATCH
            pushes.append(elapsed)
            server_ms.append(PushLog.objects.filter(connection=connection).first().duration_ms)
            spec_floors.append(
                spec_floor_merge(dsn_from_settings(), connection, floor_records(connection, events))
            )
            other = floor_records(connection, make_batch(1000 + i, day_end), bump=1)
            floors.append(floor_merge(dsn_from_settings(), connection, other))
        peak = memory_kib(pid, "VmHWM")
    finally:
        server.terminate()
        server.wait()
    from bench.push_parts import part_costs, part_costs_print  # imports this module

    part_batches = [
        floor_records(connection, make_batch(2000 + i, END + timedelta(days=PUSHES)))
        for i in range(PART_ROUNDS)
    ]
    parts = part_costs(dsn_from_settings(), connection, part_batches)
    one_client, four_clients = sustained_ingest(free_port())
    naive = statistics.median(
        naive_per_row(connection, make_batch(5000 + i, END)) for i in range(3)
    )
    sqlite_times = sqlite_push(free_port())
    parse_s = parse_seconds()

    push_s, floor_s = statistics.median(pushes), statistics.median(floors)
    spec_floor_s = statistics.median(spec_floors)
    rows = [
        (
            "end-to-end push (HTTP, gunicorn)",
            f"{push_s * 1000:8.1f} ms",
            f"{BATCH / push_s:10,.0f} rows/s",
        ),
        ("  of which server time (push log)", f"{statistics.median(server_ms):8.1f} ms", ""),
        (
            f"merge floor of the spec ({floor_rows:,} rows)",
            f"{spec_floor_s * 1000:8.1f} ms",
            f"{BATCH / spec_floor_s:10,.0f} rows/s",
        ),
        (
            "floor on the service's own table",
            f"{floor_s * 1000:8.1f} ms",
            f"{BATCH / floor_s:10,.0f} rows/s",
        ),
        ("sustained: 1 client, 4 workers", "", f"{one_client:10,.0f} rows/s"),
        ("sustained: 4 clients, 4 workers", "", f"{four_clients:10,.0f} rows/s"),
        (
            "naive: ModelSerializer + update_or_create",
            f"{naive * 1000:8.1f} ms",
            f"{BATCH / naive:10,.0f} rows/s",
        ),
        (
            "parse + validate, in process (fast path)",
            f"{parse_s * 1000:8.1f} ms",
            f"{BATCH / parse_s:10,.0f} rows/s",
        ),
        (
            "SQLite default: end-to-end push",
            f"{statistics.median(sqlite_times) * 1000:8.1f} ms",
            "",
        ),
    ]
    print(
        f"\n{PUSHES} pushes of {BATCH:,} NDJSON rows into {PRELOAD_ROWS:,} preloaded rows (medians)"
    )
    for name, value, rate in rows:
        print(f"  {name:<44}{value}  {rate}")
    print(
        f"  {'push / merge floor of the spec':<44}{push_s / spec_floor_s:8.2f}     (target <= 1.6)"
    )
    print(f"  {'push / floor on the own table':<44}{push_s / floor_s:8.2f}")
    print(f"  {'4 clients / 1 client':<44}{four_clients / one_client:8.2f}     (target >= 1.5)")
    print(f"  {'naive / push':<44}{naive / push_s:8.1f}     (target >= 40)")
    print(f"  {'worker peak extra memory':<44}{(peak - baseline) / 1024:8.1f} MB  (target <= 150)")
    print(f"  {'SQLite push':<44}{statistics.median(sqlite_times):8.2f} s   (target < 1.5)")
    part_costs_print(parts, len(part_batches[0]))
    print(calibration_line())


if __name__ == "__main__":
    main()
