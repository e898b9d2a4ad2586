"""Push rate limit across gunicorn workers: one count per key, 429 + Retry-After from any worker.

A burst of pushes inside one fixed window gets exactly `limit` 200s, whichever workers answer,
and nothing of a refused push is stored. A client that honours Retry-After gets all its
pushes stored.

    python -m reliability.rate_limit [--limit 20 --burst 60 --honest 45 --workers 4]
"""

import argparse
import sys
import threading
import time
from collections import Counter

from . import harness as h
from . import workload as w

WINDOW = 60  # PUSH_RATE_LIMIT is "<limit>/min"


def window_of(t: float) -> int:
    return int(t) // WINDOW


def burst(server, tenant, pool, verdict, *, limit: int, count: int) -> None:
    # Start where at least 15 s of the window remain, so the burst stays in one window.
    if time.time() % WINDOW > WINDOW - 15:
        time.sleep(WINDOW - time.time() % WINDOW + 0.05)
    results = [None] * count
    lock = threading.Lock()
    todo = list(range(count))

    def client():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            sent = time.time()
            events = w.stamp(pool[i * 5 : i * 5 + 5], f"burst-{i}", (i + 1) * 100_000)
            reply = w.push(server.port, tenant, events)
            results[i] = (window_of(sent), window_of(time.time()), reply, events)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    windows = {w for sent, done, _, _ in results for w in (sent, done)}
    verdict.check(len(windows) == 1, f"the burst spanned {len(windows)} windows")
    statuses = Counter(reply.status for _, _, reply, _ in results)
    verdict.figure(f"burst of {count} pushes in one window", dict(statuses))
    verdict.check(statuses[200] == limit, f"{statuses[200]} pushes got 200, limit {limit}")
    verdict.check(set(statuses) <= {200, 429}, f"unexpected answers {dict(statuses)}")
    retry_after = {
        reply.headers.get("retry-after") for _, _, reply, _ in results if reply.status == 429
    }
    verdict.check(
        all(v and v.isdigit() and 1 <= int(v) <= WINDOW for v in retry_after),
        f"bad Retry-After values {retry_after}",
    )
    verdict.figure("Retry-After values (s)", sorted(retry_after, key=int))
    per_worker = Counter()
    for pid, status in server.access_log(tenant.events_path):
        per_worker[(pid, status)] += 1
    answering_429 = {pid for (pid, status) in per_worker if status == 429}
    answering_200 = {pid for (pid, status) in per_worker if status == 200}
    verdict.figure(
        "answers per worker (pid: 200s/429s)",
        ", ".join(
            f"{pid}: {per_worker[(pid, 200)]}/{per_worker[(pid, 429)]}"
            for pid in sorted(answering_200 | answering_429)
        ),
    )
    verdict.check(len(answering_429 | answering_200) > 1, "only one worker answered the burst")
    stored = w.stored_rows(tenant.connection_id)
    batches = Counter(value[-1] for value in stored.values())
    for _, _, reply, events in results:
        batch_id = events[0]["batch_id"]
        if reply.status == 429:
            verdict.check(batches[batch_id] == 0, f"refused push {batch_id} stored rows")
        else:
            expected = w.accepted_keys(events)
            verdict.check(
                all(stored.get(k) == v for k, v in expected.items()),
                f"accepted push {batch_id} not stored",
            )


def honest_client(server, tenant, pool, verdict, *, pushes: int, limit: int) -> None:
    sent_ok, refusals, waited = [], 0, 0.0
    started = time.monotonic()
    for i in range(pushes):
        events = w.stamp(pool[i * 5 : i * 5 + 5], f"honest-{i}", (i + 1) * 100_000)
        while True:
            sent = time.time()
            reply = w.push(server.port, tenant, events)
            if reply.status != 429:
                break
            refusals += 1
            pause = int(reply.headers["retry-after"])
            waited += pause
            time.sleep(pause)
        verdict.check(reply.status == 200, f"honest push {i}: {reply.status} {reply.body[:200]}")
        sent_ok.append(window_of(sent))
    per_window = Counter(sent_ok)
    verdict.figure(
        f"client honouring Retry-After: {pushes} pushes",
        f"all 200 after {refusals} 429s, {waited:.0f} s waited, "
        f"{time.monotonic() - started:.0f} s total; 200s per window {sorted(per_window.values())}",
    )
    verdict.check(max(per_window.values()) <= limit, f"more than {limit} 200s in a window")
    stored = w.stored_rows(tenant.connection_id)
    expected = {}
    for i in range(pushes):
        expected.update(
            w.accepted_keys(w.stamp(pool[i * 5 : i * 5 + 5], f"honest-{i}", (i + 1) * 100_000))
        )
    verdict.check(stored == expected, "the honest client's rows differ from what it pushed")
    verdict.figure("honest client's rows stored / expected", f"{len(stored)} / {len(expected)}")


def run(pg, *, limit: int, burst_size: int, honest: int, workers: int) -> h.Verdict:
    verdict = h.Verdict(f"rate limit ({limit}/min, {workers} workers)")
    h.header(verdict.name)
    burst_tenant = w.seed("burst.example")
    honest_tenant = w.seed("honest.example")
    pool = w.key_pool(5 * max(burst_size, honest), seed=6)
    server = h.Gunicorn(pg, workers=workers, env={"PUSH_RATE_LIMIT": f"{limit}/min"}, name="rate")
    try:
        other = threading.Thread(
            target=honest_client,
            args=(server, honest_tenant, pool, verdict),
            kwargs={"pushes": honest, "limit": limit},
        )
        other.start()
        burst(server, burst_tenant, pool, verdict, limit=limit, count=burst_size)
        other.join()
    finally:
        server.stop()
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--honest", type=int, default=45)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    with h.database() as pg:
        return run(
            pg, limit=args.limit, burst_size=args.burst, honest=args.honest, workers=args.workers
        ).finish()


if __name__ == "__main__":
    sys.exit(main())
