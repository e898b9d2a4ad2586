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

The pushes alone are measured before the run (the reference) and again after it (how much
the machine's speed drifted meanwhile). With scripts/bench.sh, PostgreSQL's log (PG_DIR) gives
the checkpoints, and each slow push is matched against them.

BENCH_RENORMALIZE_ARGS: extra arguments for the command (e.g. "--batch-size 500 --pause 0.1").
BENCH_RENORMALIZE_SECONDS: stop the command (Ctrl-C, as an operator would) after that many
seconds and measure the pushes of that part of the run only: a throttled command over 5M rows
runs for an hour, and its pace is the same all along the walk.
"""

import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
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
TIME_BOX = float(os.environ.get("BENCH_RENORMALIZE_SECONDS", "0"))  # 0: the whole run
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


def checkpoints(since: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of the checkpoints in PostgreSQL's log since `since` (scripts/pg.sh's
    server.log in PG_DIR; PostgreSQL 15 logs checkpoints by default)."""
    log = Path(os.environ.get("PG_DIR", "/nonexistent")) / "server.log"
    if not log.exists():
        return []
    found, start = [], None
    stamp = re.compile(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC .*checkpoint (starting|complete)"
    )
    for line in log.read_text(errors="replace").splitlines():
        match = stamp.match(line)
        if not match:
            continue
        at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        if match[2] == "starting":
            start = at
        elif start and at >= since:
            found.append((start, at))
            start = None
    return found


SETTINGS = (
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "checkpoint_completion_target",
    "wal_compression",
    "bgwriter_delay",
    "bgwriter_lru_maxpages",
    "bgwriter_lru_multiplier",
)


def server_settings() -> str:
    """The server settings this run measured (scripts/bench.sh: BENCH_PG_OPTIONS)."""
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) name", [list(SETTINGS)]
        )
        found = dict(cursor.fetchall())
    return ", ".join(f"{name}={found.get(name, '?')}" for name in SETTINGS)


def io_counters() -> dict[str, int]:
    """WAL written and who wrote the dirty buffers (pg_stat_wal, pg_stat_bgwriter): deltas
    over the run say whether the I/O came from full-page images and from the pushes' own
    backends evicting dirty buffers."""
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT w.wal_bytes::bigint, w.wal_fpi, b.checkpoints_timed, b.checkpoints_req, "
            "b.buffers_checkpoint, b.buffers_clean, b.buffers_backend "
            "FROM pg_stat_wal w, pg_stat_bgwriter b"
        )
        names = [
            "wal_bytes",
            "wal_fpi",
            "checkpoints_timed",
            "checkpoints_req",
            "buffers_checkpoint",
            "buffers_clean",
            "buffers_backend",
        ]
        return dict(zip(names, cursor.fetchone(), strict=True))


def verdict(ratio: float) -> str:
    return f"{ratio:.2f}x (target <= {TARGET:g}x: {'ok' if ratio <= TARGET else 'MISS'})"


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit(
            "Set DATABASE_URL to an empty PostgreSQL database, or scripts/bench.sh renormalize"
        )
    # Started in the background (nohup ... &), this process and so the command inherit SIGINT
    # ignored, and the time box's Ctrl-C would do nothing: handle it again (exec gives the
    # child the default, and Python's KeyboardInterrupt with it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
        counters_before = io_counters()
        sampler = WaitSampler()
        sampler.start()
        during, starts, i = [], [], 100
        since = datetime.now(UTC)
        interrupted = False
        while command.poll() is None:
            if TIME_BOX and not interrupted and time.monotonic() - renormalize_started > TIME_BOX:
                command.send_signal(signal.SIGINT)  # the batch in flight rolls back
                interrupted = True
                command.wait()
                break
            starts.append(datetime.now(UTC))
            during.append(http_push(port, path, token, ndjson(make_batch(i, day_end)))[0])
            i += 1
        renormalize_s = time.monotonic() - renormalize_started
        counters = {name: value - counters_before[name] for name, value in io_counters().items()}
        sampler.stop.set()
        sampler.join()
        after = [
            http_push(port, path, token, ndjson(make_batch(i, day_end)))[0]
            for i in range(10_000, 10_000 + BASELINE_PUSHES)
        ]
    finally:
        server.terminate()
        server.wait()
    if command.returncode != 0 and not (interrupted and command.returncode in (130, -2)):
        sys.exit(f"renormalize_referrers failed ({command.returncode}): see {log}")
    progress = [line for line in log.read_text().splitlines() if line.startswith("renormalize:")]
    alone_ms = statistics.median(alone) * 1000
    during_ms = statistics.median(during) * 1000 if during else float("nan")
    print(f"command:                    renormalize_referrers {shlex.join(COMMAND_ARGS)}")
    print(f"server:                     {server_settings()}")
    done = (
        f"stopped after {renormalize_s:.0f} s (BENCH_RENORMALIZE_SECONDS)"
        if interrupted
        else (f"{ROWS:,} in {renormalize_s:.0f} s")
    )
    print(f"rows renormalized:          {done}")
    print(f"  last progress line:       {progress[-1] if progress else '-'}")
    print(f"10,000-row push alone:      median {alone_ms:.0f} ms, max {max(alone) * 1000:.0f} ms")
    after_ms = statistics.median(after) * 1000
    print(f"  alone, after the run:     median {after_ms:.0f} ms (machine drift)")
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
    if len(during) >= 2:
        cuts = statistics.quantiles(during, n=100, method="inclusive")
        print(
            f"  during: p95 / p99:         {cuts[94] * 1000 / alone_ms:.2f}x / "
            f"{cuts[98] * 1000 / alone_ms:.2f}x of the median alone"
        )
    print(
        f"  WAL during run:           {counters['wal_bytes'] / 2**30:.1f} GiB "
        f"({counters['wal_fpi']:,} full-page images); checkpoints "
        f"{counters['checkpoints_timed']} timed + {counters['checkpoints_req']} requested; "
        f"buffers written by checkpointer {counters['buffers_checkpoint']:,}, bgwriter "
        f"{counters['buffers_clean']:,}, backends {counters['buffers_backend']:,}"
    )
    spans = checkpoints(since)
    if spans:
        slow_starts = [
            (start, start + timedelta(seconds=seconds))
            for start, seconds in zip(starts, during, strict=True)
            if seconds * 1000 > TARGET * alone_ms
        ]
        in_checkpoint = sum(
            1 for a, b in slow_starts if any(a <= end and b >= begin for begin, end in spans)
        )
        busy = sum((end - begin).total_seconds() for begin, end in spans)
        print(
            f"  checkpoints during run:   {len(spans)}, {busy:.0f} s of {renormalize_s:.0f} s; "
            f"slow pushes overlapping one: {in_checkpoint} of {slow}"
        )
    print(f"  push sessions waited on:  {sampler.summary()}")
    print(calibration_line())


if __name__ == "__main__":
    main()
