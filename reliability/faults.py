"""Faults mid-push: kill -9 of the worker, pg_terminate_backend, database stop, a disable.

After each fault the batch is stored entirely or not at all (every key of it is checked), the
client never sees a 200 for a batch that was not stored, and the next push succeeds without
restarting anything.

    python -m reliability.faults [--kill-trials 50 --terminate-trials 10 --stop-trials 3
                                  --inflight 20 --rows 10000 --workers 4]
"""

import argparse
import os
import random
import signal
import sys
import threading
import time
from collections import Counter

from . import harness as h
from . import workload as w


class Trial:
    """One push of the fixed key set with its own batch_id and metrics, sent in a thread."""

    def __init__(self, server: h.Gunicorn, tenant: w.Tenant, pool: list[dict], n: int, tag: str):
        self.events = w.stamp(w.shuffled(pool, random.Random(n)), f"{tag}-{n}", (n + 1) * 100_000)
        self.expected = w.accepted_keys(self.events)
        self.before = w.stored_rows(tenant.connection_id)
        self.client_port = None
        self.reply: h.Reply | None = None
        body = w.ndjson(self.events)

        def send():
            self.reply = h.request(
                server.port,
                "POST",
                tenant.events_path,
                token=tenant.token,
                body=body,
                on_connect=self._connected,
            )

        self.thread = threading.Thread(target=send)
        self.thread.start()

    def _connected(self, port: int) -> None:
        self.client_port = port

    def done(self) -> bool:
        return not self.thread.is_alive()

    def join(self) -> h.Reply:
        self.thread.join()
        return self.reply

    def outcome(self, tenant: w.Tenant) -> str:
        """'applied', 'not applied' or 'HALF' (the invariant broken)."""
        stored = w.stored_rows(tenant.connection_id)
        if all(stored.get(key) == value for key, value in self.expected.items()):
            return "applied"
        if stored == self.before:
            return "not applied"
        return "HALF"


def settle(timeout: float = 30) -> bool:
    """Wait until no service session is inside a transaction (a killed client's is rolled back)."""
    return h.wait_until(lambda: not h.service_backends(in_transaction=True), timeout, 0.05)


def writing_backends() -> list[int]:
    """Service sessions whose transaction has locked or written something (has an xid)."""
    rows = h.sql(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND backend_xid IS NOT NULL",
        [h.APP_NAME],
    )
    return [pid for (pid,) in rows]


def small_push(server, tenant, pool, tag: str) -> h.Reply:
    return w.push(server.port, tenant, w.stamp(pool[:20], tag, 99_000_000))


def push_duration(server, tenant, pool) -> float:
    """Seconds of a warm push of the pool (after one push per worker to warm them up)."""
    times = []
    for n in range(server.workers_count + 2):
        reply = w.push(server.port, tenant, w.stamp(pool, f"warm-up-{n}", 50_000_000 + n))
        assert reply.status == 200, reply.body[:300]
        times.append(reply.seconds)
    return sorted(times[-3:])[1]


# --- (a) kill -9 of the worker serving the push -------------------------------------------


def kill_trials(pg, verdict, *, trials: int, rows: int, workers: int) -> None:
    tenant = w.seed("kill.example")
    pool = w.key_pool(rows, seed=2)
    server = h.Gunicorn(pg, workers=workers, name="kill")
    duration = push_duration(server, tenant, pool)
    rng = random.Random(7)
    seen, next_ok, killed_mid = Counter(), 0, 0
    for n in range(trials):
        delay = rng.uniform(0.0, duration * 1.1)
        trial = Trial(server, tenant, pool, n, "kill")
        time.sleep(delay)
        pid = None
        if h.wait_until(lambda t=trial: t.client_port is not None, 2):
            h.wait_until(lambda t=trial: worker_is_found(server, t) or t.done(), 2, interval=0.005)
            pid = getattr(trial, "worker", None)
        if pid and not trial.done():
            os.kill(pid, signal.SIGKILL)
            killed_mid += 1
        reply = trial.join()
        verdict.check(settle(), f"kill trial {n}: a transaction stayed open")
        result = trial.outcome(tenant)
        client = "200" if reply.status == 200 else ("no answer" if reply.status == 0 else "5xx")
        if 400 <= reply.status < 500:
            client = f"{reply.status}"
        seen[(client, result)] += 1
        verdict.check(result != "HALF", f"kill trial {n} (delay {delay:.2f} s): half stored")
        verdict.check(
            not (reply.status == 200 and result != "applied"),
            f"kill trial {n}: 200 for a batch not stored",
        )
        verdict.check(client in {"200", "no answer", "5xx"}, f"kill trial {n}: answered {client}")
        server.wait_for_workers(workers)
        after = small_push(server, tenant, pool, f"after-kill-{n}")
        next_ok += after.status == 200
        verdict.check(after.status == 200, f"push after kill {n}: {after.status} {after.error}")
    server.stop()
    verdict.figure(
        "(a) kill -9 mid-push",
        f"{trials} trials (delays 0-{duration * 1.1:.2f} s, push ~{duration:.2f} s), "
        f"{killed_mid} killed before the answer; next push 200: {next_ok}/{trials}",
    )
    for (client, result), count in sorted(seen.items()):
        verdict.figure(f"    client saw {client:>9}, batch {result}", count)


def worker_is_found(server, trial) -> bool:
    trial.worker = h.worker_serving(server, trial.client_port)
    return trial.worker is not None


# --- (b) pg_terminate_backend of the push's session ---------------------------------------


def terminate_trials(pg, verdict, *, trials: int, rows: int, workers: int) -> None:
    tenant = w.seed("terminate.example")
    pool = w.key_pool(rows, seed=3)
    server = h.Gunicorn(pg, workers=workers, name="terminate")
    duration = push_duration(server, tenant, pool)
    rng = random.Random(11)
    seen, hit = Counter(), 0
    for n in range(trials):
        trial = Trial(server, tenant, pool, n, "terminate")
        h.wait_until(lambda t=trial: writing_backends() or t.done(), 30, interval=0.005)
        time.sleep(rng.uniform(0, duration * 0.15))
        pids = writing_backends()
        for pid in pids:
            h.sql("SELECT pg_terminate_backend(%s)", [pid])
        hit += bool(pids)
        reply = trial.join()
        settle()
        result = trial.outcome(tenant)
        seen[(reply.status, result)] += 1
        verdict.check(result != "HALF", f"terminate trial {n}: half stored")
        if pids:
            verdict.check(
                reply.status == 503 and reply.headers.get("retry-after"),
                f"terminate trial {n}: answered {reply.status} {reply.body[:200]!r}",
            )
            verdict.check(result == "not applied", f"terminate trial {n}: stored after 503")
        after = small_push(server, tenant, pool, f"after-terminate-{n}")
        verdict.check(after.status == 200, f"push after terminate {n}: {after.status}")
    errors = server.log_count("database error answered as 503")
    server.stop()
    verdict.figure("(b) pg_terminate_backend mid-push", f"{hit}/{trials} trials hit a transaction")
    for (status, result), count in sorted(seen.items()):
        verdict.figure(f"    answered {status}, batch {result}", count)
    verdict.figure("    503s logged by the service", errors)


# --- (c) the database stops in the middle of a push and comes back ------------------------


def stop_trials(pg, verdict, *, trials: int, rows: int, workers: int) -> None:
    from django.db import connections

    tenant = w.seed("stop.example")
    pool = w.key_pool(rows, seed=4)
    server = h.Gunicorn(pg, workers=workers, name="stop")
    push_duration(server, tenant, pool)
    down_statuses, recoveries, outcomes = Counter(), [], Counter()
    ready_recoveries = []
    for n in range(trials):
        ready = h.request(server.port, "GET", "/readyz")
        verdict.check(ready.status == 200, f"stop trial {n}: /readyz {ready.status} before")
        trial = Trial(server, tenant, pool, n, "stop")
        h.wait_until(lambda t=trial: writing_backends() or t.done(), 30, interval=0.005)
        connections.close_all()
        pg.stop()
        reply = trial.join()
        down_statuses[reply.status] += 1
        while_down = [small_push(server, tenant, pool, f"down-{n}-{i}") for i in range(3)]
        while_down.append(
            h.request(
                server.port,
                "GET",
                f"/v1/{tenant.brand_id}/ai-referrals/connections",
                token=tenant.token,
            )
        )
        for r in while_down:
            down_statuses[r.status] += 1
            verdict.check(
                r.status == 503 and r.headers.get("retry-after"),
                f"stop trial {n}: answered {r.status} while the database was down",
            )
        verdict.check(
            reply.status != 200, f"stop trial {n}: 200 for the interrupted push (db stopped)"
        )
        ready = h.request(server.port, "GET", "/readyz", timeout=10)
        verdict.check(
            ready.status == 503 and b'"database": "database error' in ready.body,
            f"stop trial {n}: /readyz answered {ready.status} while the database was down",
        )
        verdict.check(
            h.request(server.port, "GET", "/healthz").status == 200,
            f"stop trial {n}: /healthz not 200 while the database was down",
        )
        pg.start()
        started = time.monotonic()
        while h.request(server.port, "GET", "/readyz").status != 200:
            if time.monotonic() - started > 60:
                verdict.check(False, f"stop trial {n}: /readyz not ready 60 s after the restart")
                break
            time.sleep(0.2)
        ready_recoveries.append(time.monotonic() - started)
        started = time.monotonic()
        after = h.Reply(0)
        while time.monotonic() - started < 60:
            after = small_push(server, tenant, pool, f"after-stop-{n}")
            if after.status == 200:
                break
            time.sleep(0.2)
        recoveries.append(time.monotonic() - started)
        verdict.check(after.status == 200, f"stop trial {n}: no recovery within 60 s")
        connections.close_all()
        # The recovery push rewrote the first 20 keys: judge the interrupted batch on the rest.
        recovery = {w.event_key(event) for event in pool[:20]}
        stored = w.stored_rows(tenant.connection_id)
        expected = {k: v for k, v in trial.expected.items() if k not in recovery}
        applied = all(stored.get(k) == v for k, v in expected.items())
        untouched = all(stored.get(k) == trial.before.get(k) for k in expected)
        outcomes[("applied" if applied else "not applied") if applied or untouched else "HALF"] += 1
        verdict.check(applied or untouched, f"stop trial {n}: half stored")
    server.stop()
    verdict.figure(
        "(c) database stopped mid-push",
        f"{trials} trials; answers while down {dict(down_statuses)}; "
        f"recovered without restart in max {max(recoveries):.1f} s",
    )
    verdict.figure(
        "    /readyz", f"503 while down, ready again in max {max(ready_recoveries):.1f} s"
    )
    verdict.figure("    interrupted batches", dict(outcomes))


# --- (d) disable while pushes are in flight -----------------------------------------------


def inflight_disable(pg, verdict, *, pushes: int, rows: int, workers: int) -> None:
    from referrals.connections.services import connection_disable
    from referrals.models import Connection

    tenant = w.seed("inflight.example")
    pool = w.key_pool(pushes * rows, seed=5)
    server = h.Gunicorn(pg, workers=workers, name="inflight")
    w.push(server.port, tenant, w.stamp(pool[:10], "warm-up", 1))
    batches = [
        w.stamp(pool[i * rows : (i + 1) * rows], f"inflight-{i}", (i + 1) * 100_000)
        for i in range(pushes)
    ]
    replies = [None] * pushes

    def send(i):
        replies[i] = w.push(server.port, tenant, batches[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(pushes)]
    for thread in threads:
        thread.start()
    h.wait_until(writing_backends, 30, interval=0.005)
    connection_disable(connection=Connection.objects.get(pk=tenant.connection_id))
    for thread in threads:
        thread.join()
    server.stop()
    stored = w.stored_rows(tenant.connection_id)
    counts = Counter()
    for i, reply in enumerate(replies):
        expected = w.accepted_keys(batches[i])
        present = sum(stored.get(k) == v for k, v in expected.items())
        outcome = "applied" if present == len(expected) else "none" if present == 0 else "HALF"
        counts[(reply.status, outcome)] += 1
        verdict.check(
            (reply.status, outcome) in {(200, "applied"), (410, "none")},
            f"in-flight push {i}: answered {reply.status}, {present}/{len(expected)} keys stored",
        )
    verdict.figure(
        f"(d) disable with {pushes} pushes in flight",
        ", ".join(f"{s} {o}: {c}" for (s, o), c in sorted(counts.items())),
    )
    verdict.check(any(s == 410 for s, _ in counts), "no push was refused: the race was missed")


def run(pg, *, kill: int, terminate: int, stop: int, inflight: int, rows: int, workers: int):
    verdict = h.Verdict("faults")
    h.header(f"faults ({rows:,}-row pushes, {workers} workers)")
    if kill:
        kill_trials(pg, verdict, trials=kill, rows=rows, workers=workers)
    if terminate:
        terminate_trials(pg, verdict, trials=terminate, rows=rows, workers=workers)
    if stop:
        stop_trials(pg, verdict, trials=stop, rows=rows, workers=workers)
    if inflight:
        inflight_disable(pg, verdict, pushes=inflight, rows=max(rows // 10, 100), workers=workers)
    # The daily rollup is written in the push's transaction: no fault may leave it off.
    mismatches = sum(
        w.rollup_mismatches(connection_id)
        for (connection_id,) in h.sql("SELECT id FROM referrals_connection")
    )
    verdict.figure("daily rollup groups differing from the rows, all trials", mismatches)
    verdict.check(mismatches == 0, f"{mismatches} daily rollup groups differ from the rows")
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kill-trials", type=int, default=50)
    parser.add_argument("--terminate-trials", type=int, default=10)
    parser.add_argument("--stop-trials", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    with h.database() as pg:
        return run(
            pg,
            kill=args.kill_trials,
            terminate=args.terminate_trials,
            stop=args.stop_trials,
            inflight=args.inflight,
            rows=args.rows,
            workers=args.workers,
        ).finish()


if __name__ == "__main__":
    sys.exit(main())
