"""Concurrent overlapping pushes on PostgreSQL: no 5xx, no duplicated row, the last writer wins.

Every push to one connection takes the connection's row lock (SELECT ... FOR UPDATE) before it
writes, and inserts its PushLog row while holding it, so pushes to a connection commit one at a
time and PushLog ids (one sequence, taken under the lock) are in commit order. Replaying the
successful pushes in PushLog id order therefore gives the state the database must hold: for
every key, the metrics and batch_id of the last committed push that contained it (the last
occurrence inside that push).

    python -m reliability.concurrent_pushes [--clients 8 --pushes 25 --rows 10000 --workers 4]
"""

import argparse
import random
import sys
import threading
import time

from . import harness as h
from . import workload as w


def run(pg, *, clients: int, pushes: int, rows: int, workers: int, pool_size: int) -> h.Verdict:
    verdict = h.Verdict(f"concurrent pushes ({clients} clients x {pushes} x {rows:,} rows)")
    h.header(verdict.name)
    from referrals.models import PushLog

    tenant = w.seed("concurrent.example")
    pool = w.key_pool(pool_size, seed=1)
    server = h.Gunicorn(pg, workers=workers, name="concurrent")
    sent: dict[str, list[dict]] = {}
    replies: list[tuple[str, h.Reply]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(number)
        for n in range(pushes):
            batch_id = f"client{number}-push{n}"
            base = (number * pushes + n + 1) * 100_000
            # `rows` events in all, 1% of them repeated keys: the last occurrence must win.
            unique = rows - rows // 100
            events = w.stamp(rng.sample(pool, unique), batch_id, base)
            for i in rng.sample(range(unique), rows // 100):
                events.append({**events[i], "sessions": base + rows + i, "pageviews": 1})
            events = w.shuffled(events, rng)
            with lock:
                sent[batch_id] = events
            reply = w.push(server.port, tenant, events)
            while reply.status == 429:  # not expected with the raised limit, but honoured
                time.sleep(int(reply.headers.get("retry-after", "1")))
                reply = w.push(server.port, tenant, events)
            with lock:
                replies.append((batch_id, reply))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    retried = server.log_count("push transaction retried")
    server.stop()

    statuses = sorted({reply.status for _, reply in replies})
    errors = [(b, r.status, r.body[:200]) for b, r in replies if r.status != 200]
    seconds = [r.seconds for _, r in replies]
    verdict.figure("pushes", f"{len(replies)} in {elapsed:.1f} s, statuses {statuses}")
    verdict.figure(
        "push latency p50 / p99 / max",
        f"{h.percentile(seconds, 50):.2f} / {h.percentile(seconds, 99):.2f} / {max(seconds):.2f} s",
    )
    verdict.figure("non-200 answers (5xx, deadlocks surfaced)", len(errors))
    verdict.figure("deadlock/serialization retries inside the service", retried)
    verdict.check(not errors, f"non-200 answers: {errors[:3]}")
    verdict.check(len(replies) == clients * pushes, "not every push was answered")

    # Replay the successful pushes in commit order.
    order = list(
        PushLog.objects.filter(connection_id=tenant.connection_id, status_code=200)
        .order_by("id")
        .values_list("batch_id", flat=True)
    )
    verdict.check(
        sorted(order) == sorted(b for b, r in replies if r.status == 200),
        "PushLog 200 entries differ from the 200 answers",
    )
    expected: dict = {}
    for batch_id in order:
        expected.update(w.accepted_keys(sent[batch_id]))
    stored = w.stored_rows(tenant.connection_id)
    duplicates = w.duplicate_keys(tenant.connection_id)
    wrong = [key for key, value in expected.items() if stored.get(key) != value]
    extra = stored.keys() - expected.keys()
    verdict.figure("stored rows / distinct keys expected", f"{len(stored):,} / {len(expected):,}")
    verdict.figure("duplicated keys", duplicates)
    verdict.figure("keys not equal to their last committed writer", len(wrong))
    verdict.check(duplicates == 0, f"{duplicates} duplicated keys")
    mismatches = w.rollup_mismatches(tenant.connection_id)
    verdict.figure("daily rollup groups differing from the rows", mismatches)
    verdict.check(mismatches == 0, f"{mismatches} daily rollup groups differ from the rows")
    verdict.check(not extra, f"{len(extra)} stored keys no push sent")
    example = (
        f"{wrong[0]}: stored {stored.get(wrong[0])}, expected {expected[wrong[0]]}" if wrong else ""
    )
    verdict.check(not wrong, f"{len(wrong)} keys differ from the last committed writer: {example}")
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pushes", type=int, default=25)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pool", type=int, default=None, help="distinct keys (default 1.5x rows)")
    args = parser.parse_args(argv)
    with h.database() as pg:
        verdict = run(
            pg,
            clients=args.clients,
            pushes=args.pushes,
            rows=args.rows,
            workers=args.workers,
            pool_size=args.pool or args.rows * 3 // 2,
        )
        return verdict.finish()


if __name__ == "__main__":
    sys.exit(main())
