"""A push while renormalize_referrers rewrites millions of rows: how much slower it answers.

Run with `scripts/bench.sh renormalize` (a throwaway PostgreSQL) or with DATABASE_URL set to
an empty PostgreSQL database. Preloads BENCH_RENORMALIZE_ROWS rows (5,000,000) of one
connection whose platform the allow-list now maps elsewhere (all of them move), measures
10,000-row pushes to that same connection, over the same days and keys (the worst case: the
push and a batch lock the same rows and rollup groups), first alone, then while
`manage.py renormalize_referrers` runs in a process of its own. Prints the medians and the
slowest push of both, and the command's rate.
"""

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import END, http_push, preload  # noqa: E402
from reliability.harness import setup_django, start_gunicorn  # noqa: E402
from reliability.workload import make_batch, ndjson, seed_objects  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "100000/min"
ROWS = int(os.environ.get("BENCH_RENORMALIZE_ROWS", "5000000"))
BASELINE_PUSHES = int(os.environ.get("BENCH_BASELINE_PUSHES", "7"))


def misfile_everything(connection) -> int:
    """Point every preloaded row at another platform than its referrer's (as after an
    allow-list edit), bypassing nothing: the rollup triggers follow."""
    from django.db import connection as db

    from referrals.models import AIPlatform

    claude = AIPlatform.objects.get(slug="claude").pk
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE referrals_referralrow SET platform_id = %s WHERE brand_id = %s "
            "AND connection_id = %s AND batch_id = 'preload'",
            [claude, connection.brand_id, connection.pk],
        )
        cursor.execute("VACUUM ANALYZE referrals_referralrow")
        return cursor.rowcount


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit(
            "Set DATABASE_URL to an empty PostgreSQL database, or scripts/bench.sh renormalize"
        )
    setup_django()
    brand, connection, token = seed_objects("bench.example")
    started = time.monotonic()
    preload(connection, ROWS)
    misfile_everything(connection)
    print(f"preload and misfile: {time.monotonic() - started:.0f} s")
    port = 8766
    server = start_gunicorn({}, port)
    path = f"/v1/{brand.pk}/ai-referrals/connections/{connection.pk}/events"
    # Over preloaded days (END-31 and before) and pages: the push rewrites rows a batch moves.
    day_end = END - timedelta(days=31)
    try:
        http_push(port, path, token, ndjson(make_batch(0, day_end)))  # warm-up
        alone = [
            http_push(port, path, token, ndjson(make_batch(i, day_end)))[0]
            for i in range(1, BASELINE_PUSHES + 1)
        ]
        log = ROOT / "var" / "bench-renormalize.log"
        log.parent.mkdir(exist_ok=True)
        command = subprocess.Popen(
            [sys.executable, "manage.py", "renormalize_referrers"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(log, "w"),  # noqa: SIM115 (the child owns it)
        )
        renormalize_started = time.monotonic()
        during, i = [], 100
        while command.poll() is None:
            during.append(http_push(port, path, token, ndjson(make_batch(i, day_end)))[0])
            i += 1
        renormalize_s = time.monotonic() - renormalize_started
    finally:
        server.terminate()
        server.wait()
    if command.returncode != 0:
        sys.exit(f"renormalize_referrers failed ({command.returncode}): see {log}")
    progress = [line for line in log.read_text().splitlines() if line.startswith("renormalize:")]
    alone_ms = statistics.median(alone) * 1000
    during_ms = statistics.median(during) * 1000 if during else float("nan")
    print(f"rows renormalized:          {ROWS:,} in {renormalize_s:.0f} s")
    print(f"  last progress line:       {progress[-1] if progress else '-'}")
    print(f"10,000-row push alone:      median {alone_ms:.0f} ms, max {max(alone) * 1000:.0f} ms")
    print(
        f"  during renormalization:   median {during_ms:.0f} ms, "
        f"max {max(during) * 1000:.0f} ms over {len(during)} pushes"
    )
    print(f"  ratio of medians:         {during_ms / alone_ms:.2f}x")
    print(f"  ratio max / alone median: {max(during) * 1000 / alone_ms:.2f}x")


if __name__ == "__main__":
    main()
