"""Soak: mixed pushes and reads at a steady rate; 0 errors, latency and worker memory start vs end.

Reads are configurable (`--reads connections,sitemap,dashboard`); a read route that answers
404 is skipped and said so.

    python -m reliability.soak [--minutes 30 --push-every 2 --reads-per-second 4 --workers 4]
"""

import argparse
import random
import sys
import threading
import time
from collections import defaultdict

from . import harness as h
from . import workload as w

READS = {
    "connections": "/v1/{brand}/ai-referrals/connections",
    "sitemap": "/v1/{brand}/sitemap/pages?domain={website}&start_date={start}&end_date={end}"
    "&ordering=-ai_referrals&limit=100",
    "dashboard": "/dashboard/?brand={brand}&website={website}&start_date={start}&end_date={end}",
}
WEBSITE = "soak.example"
MAX_RSS_GROWTH = 0.25  # the end may hold at most 25% (and 16 MiB) more than the start


def session_cookie() -> str:
    """A logged-in staff session for the dashboard, made the way django.contrib.auth does."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.create_user("soak", password="soak-password-1", is_staff=True)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, int, float]] = []  # (t, kind, status, seconds)

    def add(self, kind: str, reply: h.Reply) -> None:
        with self.lock:
            self.samples.append((time.monotonic(), kind, reply.status, reply.seconds))


def ticker(interval: float, stop: threading.Event, action) -> None:
    """Call `action` every `interval` seconds on a fixed schedule (no catch-up bursts)."""
    next_at = time.monotonic()
    while not stop.is_set():
        action()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay < 0:
            next_at = time.monotonic()
        elif stop.wait(delay):
            return


def run(pg, *, seconds: float, push_every: float, reads_per_second: float, reads, workers, rows):
    verdict = h.Verdict(f"soak ({seconds:.0f} s)")
    h.header(verdict.name)
    tenant = w.seed(WEBSITE)
    cookie = session_cookie()
    pool = w.key_pool(rows * 3, seed=8)
    end = w.day(0)
    fields = {"brand": tenant.brand_id, "website": WEBSITE, "start": w.day(29), "end": end}
    server = h.Gunicorn(pg, workers=workers, env={"API_RATE_LIMIT": "100000/min"}, name="soak")
    rng = random.Random(3)
    counter = iter(range(10**9))

    def do_push() -> h.Reply:
        n = next(counter)
        events = w.stamp(rng.sample(pool, rows), f"soak-{n}", (n + 1) * 100_000)
        return w.push(server.port, tenant, events)

    def do_read(kind: str) -> h.Reply:
        headers = {"Cookie": cookie} if kind == "dashboard" else {}
        token = None if kind == "dashboard" else tenant.token
        return h.request(
            server.port, "GET", READS[kind].format(**fields), token=token, headers=headers
        )

    # Warm-up: every worker has pushed and read once; routes missing on this build are skipped.
    for _ in range(2 * workers):
        verdict.check(do_push().status == 200, "warm-up push failed")
    active = []
    for kind in reads:
        reply = do_read(kind)
        if reply.status == 404:
            print(f"  read {kind!r}: 404 on this build, skipped", flush=True)
            continue
        verdict.check(reply.status == 200, f"read {kind}: {reply.status} {reply.body[:200]}")
        active.append(kind)
    for _ in range(2 * workers):
        for kind in active:
            do_read(kind)
    rss_start = server.rss_mib()

    recorder, stop = Recorder(), threading.Event()
    read_cycle = iter(lambda: active[next(counter) % len(active)], None)
    threads = [
        threading.Thread(
            target=ticker, args=(push_every, stop, lambda: recorder.add("push", do_push()))
        )
    ]
    if active:
        for _ in range(2):  # two readers, each at half the rate
            threads.append(
                threading.Thread(
                    target=ticker,
                    args=(
                        2 / reads_per_second,
                        stop,
                        lambda: (k := next(read_cycle)) and recorder.add(k, do_read(k)),
                    ),
                )
            )
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    rss_end = server.rss_mib()
    server.stop()

    samples = recorder.samples
    errors = [s for s in samples if s[2] != 200]
    verdict.figure("reads", ", ".join(active) or "none")
    verdict.figure(
        "requests",
        f"{len(samples)} ({sum(s[1] == 'push' for s in samples)} pushes of {rows:,} rows), "
        f"{len(samples) / seconds:.1f}/s",
    )
    verdict.figure("errors", f"{len(errors)} ({100 * len(errors) / max(len(samples), 1):.2f}%)")
    verdict.check(not errors, f"errors: {sorted({s[2] for s in errors})}")
    tenth = max(seconds / 10, 10)
    phases = {
        "start": [s for s in samples if s[0] - started <= tenth],
        "end": [s for s in samples if s[0] - started >= seconds - tenth],
    }
    for phase, chosen in phases.items():
        by_kind = defaultdict(list)
        for _, kind, _, took in chosen:
            by_kind[kind].append(took * 1000)
        verdict.figure(
            f"latency p50/p99 ms, {phase} ({tenth:.0f} s)",
            "; ".join(
                f"{kind} {h.percentile(v, 50):.0f}/{h.percentile(v, 99):.0f}"
                for kind, v in sorted(by_kind.items())
            ),
        )
    verdict.figure(
        "worker RSS MiB start -> end",
        f"{' '.join(f'{v:.0f}' for v in rss_start)} -> {' '.join(f'{v:.0f}' for v in rss_end)} "
        f"(sum {sum(rss_start):.0f} -> {sum(rss_end):.0f})",
    )
    verdict.check(
        len(rss_end) == len(rss_start), "a worker was replaced during the soak (crash or timeout)"
    )
    verdict.check(
        sum(rss_end) <= sum(rss_start) * (1 + MAX_RSS_GROWTH) + 16,
        "worker memory grew by more than 25%",
    )
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--push-every", type=float, default=2.0, help="seconds between pushes")
    parser.add_argument("--reads-per-second", type=float, default=4.0)
    parser.add_argument("--reads", default="connections,sitemap,dashboard")
    parser.add_argument("--rows", type=int, default=2_000, help="rows per push")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    reads = [r for r in args.reads.split(",") if r]
    unknown = set(reads) - READS.keys()
    if unknown:
        parser.error(f"unknown reads {sorted(unknown)}; known: {sorted(READS)}")
    with h.database() as pg:
        return run(
            pg,
            seconds=args.minutes * 60,
            push_every=args.push_every,
            reads_per_second=args.reads_per_second,
            reads=reads,
            workers=args.workers,
            rows=args.rows,
        ).finish()


if __name__ == "__main__":
    sys.exit(main())
