"""A push while renormalize_referrers rewrites millions of rows: how much slower it answers.

Run with `scripts/bench.sh renormalize` (a throwaway PostgreSQL) or with DATABASE_URL set to
an empty PostgreSQL database. Preloads BENCH_RENORMALIZE_ROWS rows (5,000,000) of one
connection whose platform the allow-list now maps elsewhere (all of them move), measures
10,000-row pushes to that same connection, over the same days and keys (the worst case: the
push and a batch lock the same rows and rollup groups), first alone, then while
`manage.py renormalize_referrers` runs in a process of its own. Prints the medians and the
slowest push of both, and the command's rate, against the issue's target (a push during the
run answers within 2x the median push before it: ok/MISS), with the CPU yardstick; and what
the pushes' database sessions were waiting on during the run (sampled pg_stat_activity: a
Lock share means the push queued behind a batch, none means they only shared the CPU).

BENCH_RENORMALIZE_ARGS: extra arguments for the command (e.g. "--batch-size 500 --pause 0.02").
BENCH_RENORMALIZE_HOT=1: first drop the covering index referral_row_window and set fillfactor
80 on the rows table (the integrator's pending schema change, which lets the UPDATEs be HOT).
"""

import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402
from bench.ingest import END, http_push, preload  # noqa: E402
from reliability.harness import APP_NAME, setup_django, start_gunicorn  # noqa: E402
from reliability.workload import make_batch, ndjson, seed_objects  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["PUSH_RATE_LIMIT"] = "100000/min"
ROWS = int(os.environ.get("BENCH_RENORMALIZE_ROWS", "5000000"))
BASELINE_PUSHES = int(os.environ.get("BENCH_BASELINE_PUSHES", "7"))
COMMAND_ARGS = shlex.split(os.environ.get("BENCH_RENORMALIZE_ARGS", ""))
HOT = os.environ.get("BENCH_RENORMALIZE_HOT") == "1"
TARGET = 2.0  # the issue: a push during the run answers within 2x its usual time


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
        moved = cursor.rowcount
        if HOT:
            cursor.execute("DROP INDEX IF EXISTS referral_row_window")
            cursor.execute("ALTER TABLE referrals_referralrow SET (fillfactor = 80)")
            # fillfactor applies to pages written from now on: rewrite the table once.
            cursor.execute("VACUUM FULL referrals_referralrow")
        cursor.execute("VACUUM ANALYZE referrals_referralrow")
        return moved


class WaitSampler(threading.Thread):
    """What the service's active sessions wait on, sampled every 100 ms from pg_stat_activity
    (wait_event_type: Lock, LWLock, IO, ... or `CPU` when not waiting)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: Counter = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connections

        db = connections.create_connection("default")
        try:
            with db.cursor() as cursor:
                while not self.stop.wait(0.1):
                    cursor.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') "
                        "FROM pg_stat_activity WHERE application_name = %s AND state = 'active'",
                        [APP_NAME],
                    )
                    self.samples.update(row[0] for row in cursor.fetchall())
        finally:
            db.close()

    def summary(self) -> str:
        total = sum(self.samples.values()) or 1
        top = self.samples.most_common(6)
        return ", ".join(f"{name} {count * 100 / total:.0f}%" for name, count in top) or "-"


def verdict(ratio: float) -> str:
    return f"{ratio:.2f}x (target <= {TARGET:g}x: {'ok' if ratio <= TARGET else 'MISS'})"


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
    url = os.environ["DATABASE_URL"]
    separator = "&" if "?" in url else "?"
    server = start_gunicorn({"DATABASE_URL": f"{url}{separator}application_name={APP_NAME}"}, port)
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
            [sys.executable, "manage.py", "renormalize_referrers", *COMMAND_ARGS],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(log, "w"),  # noqa: SIM115 (the child owns it)
        )
        renormalize_started = time.monotonic()
        sampler = WaitSampler()
        sampler.start()
        during, i = [], 100
        while command.poll() is None:
            during.append(http_push(port, path, token, ndjson(make_batch(i, day_end)))[0])
            i += 1
        renormalize_s = time.monotonic() - renormalize_started
        sampler.stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait()
    if command.returncode != 0:
        sys.exit(f"renormalize_referrers failed ({command.returncode}): see {log}")
    progress = [line for line in log.read_text().splitlines() if line.startswith("renormalize:")]
    alone_ms = statistics.median(alone) * 1000
    during_ms = statistics.median(during) * 1000 if during else float("nan")
    schema = "no referral_row_window, fillfactor 80" if HOT else "as migrated"
    print(f"command:                    renormalize_referrers {shlex.join(COMMAND_ARGS)}")
    print(f"rows table:                 {schema}")
    print(f"rows renormalized:          {ROWS:,} in {renormalize_s:.0f} s")
    print(f"  last progress line:       {progress[-1] if progress else '-'}")
    print(f"10,000-row push alone:      median {alone_ms:.0f} ms, max {max(alone) * 1000:.0f} ms")
    print(
        f"  during renormalization:   median {during_ms:.0f} ms, "
        f"max {max(during) * 1000:.0f} ms over {len(during)} pushes"
    )
    median_ratio = during_ms / alone_ms
    worst_ratio = max(during) * 1000 / alone_ms if during else float("nan")
    print(f"  ratio of medians:         {verdict(median_ratio)}")
    print(f"  ratio max / alone median: {verdict(worst_ratio)}")
    slow = sum(1 for seconds in during if seconds * 1000 > TARGET * alone_ms)
    print(f"  pushes over {TARGET:g}x:           {slow} of {len(during)}")
    print(f"  push sessions waited on:  {sampler.summary()}")
    print(calibration_line())


if __name__ == "__main__":
    main()
