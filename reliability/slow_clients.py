"""Slow clients: connections that trickle their request head must not starve the service.

`slow` connections each send a request head one byte every `interval` seconds, never finishing
it (a slowloris); one the server closes is opened again at once, so `slow` stay open. Meanwhile
a normal request (the connections list, with a token) is sent every half second on a fresh
connection: each must be answered 200 within `budget` seconds. gunicorn starts from
gunicorn.conf.py, as in production; `--worker-class sync` or `gthread` shows what they did.

    python -m reliability.slow_clients [--slow 50 --seconds 10 --workers 2 --worker-class ...]
"""

import argparse
import select
import socket
import statistics
import sys
import threading
import time

from . import harness as h
from . import workload as w

# Never finished: no blank line ends it.
SLOW_HEAD = b"GET /v1/schema HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000


class Slowloris:
    """`count` connections trickling SLOW_HEAD, reopened whenever the server closes one."""

    def __init__(self, port: int, count: int, interval: float):
        self.port, self.interval = port, interval
        self.sent: dict[socket.socket, int] = {}
        self.reopened = 0
        self.stop = threading.Event()
        for _ in range(count):
            self.open()
        self.thread = threading.Thread(target=self.trickle, daemon=True)
        self.thread.start()

    def open(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(SLOW_HEAD[:1])
        self.sent[sock] = 1

    def reopen(self, sock: socket.socket) -> None:
        del self.sent[sock]
        sock.close()
        self.open()
        self.reopened += 1

    def trickle(self) -> None:
        while not self.stop.wait(self.interval):
            # Readable: the server answered (an error) or closed it; either way it let go.
            closed, _, _ = select.select(list(self.sent), [], [], 0)
            for sock in closed:
                self.reopen(sock)
            for sock, sent in list(self.sent.items()):
                try:
                    sock.sendall(SLOW_HEAD[sent : sent + 1])
                    self.sent[sock] = sent + 1
                except OSError:
                    self.reopen(sock)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sent:
            sock.close()


def timed_requests(port: int, tenant: w.Tenant, seconds: float) -> list[h.Reply]:
    path = f"/v1/{tenant.brand_id}/ai-referrals/connections"
    replies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        replies.append(h.request(port, "GET", path, token=tenant.token, timeout=10))
        time.sleep(0.5)
    return replies


def summary(replies: list[h.Reply]) -> str:
    seconds = sorted(r.seconds for r in replies)
    ok = sum(r.status == 200 for r in replies)
    return (
        f"{ok}/{len(replies)} answered 200, latency p50 {statistics.median(seconds) * 1000:.0f} ms"
        f", max {seconds[-1] * 1000:.0f} ms"
    )


def run(
    pg,
    *,
    slow: int,
    seconds: float,
    workers: int,
    interval: float = 2.0,
    budget: float = 1.0,
    worker_class: str = "",
) -> h.Verdict:
    kind = worker_class or "gunicorn.conf.py"
    verdict = h.Verdict(f"slow clients ({slow} trickling connections, {workers} workers, {kind})")
    h.header(verdict.name)
    tenant = w.seed("slow-clients.example")
    args = ("--worker-class", worker_class) if worker_class else ()
    server = h.Gunicorn(pg, workers=workers, name="slow", args=args)
    try:
        timed_requests(server.port, tenant, 2)  # warm-up: each worker's first request imports
        verdict.figure(
            "normal requests, no slow clients", summary(timed_requests(server.port, tenant, 2))
        )
        loris = Slowloris(server.port, slow, interval)
        try:
            # Past gthread's 5 s wait for a first byte: the slow heads are in threads by now.
            time.sleep(interval + 0.5)
            replies = timed_requests(server.port, tenant, seconds)
        finally:
            loris.close()
        verdict.figure(f"normal requests, {slow} slow clients open", summary(replies))
        verdict.figure("slow connections the server closed (each reopened at once)", loris.reopened)
        late = [r for r in replies if r.status != 200 or r.seconds > budget]
        verdict.check(
            not late,
            f"{len(late)} of {len(replies)} normal requests not answered 200 within {budget} s",
        )
    finally:
        server.stop()
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="", help="override gunicorn.conf.py's")
    args = parser.parse_args(argv)
    with h.database() as pg:
        verdict = run(
            pg,
            slow=args.slow,
            seconds=args.seconds,
            workers=args.workers,
            worker_class=args.worker_class,
        ).close()
    return verdict.finish()


if __name__ == "__main__":
    sys.exit(main())
