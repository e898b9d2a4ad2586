"""Adding a worker to a Citus cluster and rebalancing while pushes go on.

Run with `make bench-rebalance` (scripts/bench.sh starts a cluster of a coordinator and two
workers with `wal_level = logical`, which Citus's default shard transfer mode needs). Loads
BENCH_BRANDS brands (40) × one 10,000-row push, adds a third worker, then moves shards onto
it with `citus_rebalance_start()` in the default mode (logical replication: the moving shards
stay writable) while one client keeps pushing changed rows to every brand in turn. Prints the
pushes before and during the move (all must succeed), where the shards ended up, and the
checks: the rollup equal to a GROUP BY of the rows for every brand, each brand in one shard
per table on one node.
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)
from bench.citus import changed, load_batch, rollup_mismatches, seed, shards_per_brand  # noqa: E402
from reliability.harness import setup_django, sql  # noqa: E402
from reliability.workload import ndjson  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "1000000/min"
os.environ["ALLOWED_HOSTS"] = "testserver"

BRANDS = int(os.environ.get("BENCH_BRANDS", "40"))
NEW_WORKER_PORT = 9703
MOVE_TIMEOUT_S = 600


def push(client, tenant, events) -> float:
    brand_id, connection_id = tenant
    url = f"/v1/{brand_id}/ai-referrals/connections/{connection_id}/events"
    started = time.perf_counter()
    response = client.post(url, ndjson(events), content_type="application/x-ndjson")
    assert response.status_code == 200, response.content[:300]
    return time.perf_counter() - started


def placements() -> dict[str, int]:
    return dict(
        sql(
            "SELECT nodename || ':' || nodeport, count(*) FROM pg_dist_shard_placement "
            "GROUP BY 1 ORDER BY 1"
        )
    )


def main() -> None:
    if not os.environ.get("CITUS_DIR"):
        sys.exit("Run `make bench-rebalance` (it starts the cluster this needs).")
    setup_django()
    from django.db import connections
    from django.test import Client

    _, tenants, token = seed(BRANDS)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for i, tenant in enumerate(tenants):
        push(client, tenant, load_batch(i))
    before = [push(client, tenants[i], changed(load_batch(i), 1)) for i in range(5)]
    print(f"loaded {BRANDS} brands; placements per node: {placements()}")

    subprocess.run(
        ["bash", "-c", f". scripts/citus.sh && citus_add_worker {NEW_WORKER_PORT}"],
        cwd=ROOT,
        check=True,
    )
    during, failures, stop = [], [], threading.Event()

    def keep_pushing() -> None:
        pusher = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        k = 2
        try:
            while not stop.is_set():
                i = k % len(tenants)
                try:
                    during.append(push(pusher, tenants[i], changed(load_batch(i), k)))
                except Exception as error:  # noqa: BLE001 (counted and shown)
                    failures.append(repr(error)[:300])
                k += 1
        finally:
            connections.close_all()

    pusher = threading.Thread(target=keep_pushing)
    pusher.start()
    started = time.perf_counter()
    try:
        sql("SELECT citus_rebalance_start()")
        while time.perf_counter() - started < MOVE_TIMEOUT_S:
            [(state, details)] = sql("SELECT state, details::text FROM citus_rebalance_status()")
            if state in ("finished", "failed", "cancelled"):
                break
            time.sleep(0.5)
    finally:
        stop.set()
        pusher.join()
    move_s = time.perf_counter() - started

    split, spread, brands = shards_per_brand()
    print(f"rebalance: {state} in {move_s:.1f} s; placements per node: {placements()}")
    if state != "finished":
        print(f"  details: {details[:500]}")
    print(f"pushes before the move: median {statistics.median(before) * 1000:.0f} ms")
    if during:
        print(
            f"pushes during the move: {len(during)}, median {statistics.median(during) * 1000:.0f}"
            f" ms, slowest {max(during) * 1000:.0f} ms; failed: {len(failures)} {failures[:2]}"
        )
    print(f"rollup mismatches: {rollup_mismatches()} (must be 0)")
    print(f"brands in more than one shard: {split}, on more than one node: {spread} (of {brands})")
    print(calibration_line())


if __name__ == "__main__":
    main()
