"""Hostile bodies through gunicorn: chunked, lying Content-Length, oversize, malformed; memory.

The in-process catalogue (every field, every rule) is tests/ingest/test_hostile_input.py;
this adds what needs a real server: transfer encodings, bodies that do not match their
headers, and the workers' memory after the catalogue.

    python -m reliability.hostile [--workers 2]
"""

import argparse
import json
import socket
import sys
import threading

from . import harness as h
from . import workload as w

MIB = 1024 * 1024
MAX_RSS_GROWTH_MIB = 64


def raw_exchange(port: int, head: bytes, body_parts, shut_write: bool = False) -> h.Reply:
    """Send bytes as given (no client-side framing) while reading the answer in parallel.

    The server may answer 413 and close before the client has sent everything; reading
    concurrently is what lets the client see that answer, as a real HTTP client would.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)

    def send():
        try:
            sock.sendall(head)
            for part in body_parts:
                sock.sendall(part)
            if shut_write:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server stopped reading: its answer is what counts

    sender = threading.Thread(target=send)
    sender.start()
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    sock.close()
    sender.join()
    status_line, _, rest = data.partition(b"\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return h.Reply(status, body=rest.partition(b"\r\n\r\n")[2])


def head(tenant: w.Tenant, extra: str) -> bytes:
    return (
        f"POST {tenant.events_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant.token}\r\nContent-Type: application/x-ndjson\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode()


def chunks(body: bytes, size: int = 64 * 1024):
    for i in range(0, len(body), size):
        part = body[i : i + size]
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


EVENT = b'{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": '
INJECTION = "'; DROP TABLE referrals_referralrow; --<script>alert(1)</script>"
MALFORMED = [
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("invalid UTF-8", EVENT + b'"/\xff"}'),
    ("NUL byte", EVENT + b'"/\x00"}'),
    ("lone surrogate", EVENT + b'"/\\ud800"}'),
    ("1e400", EVENT + b'"/", "sessions": 1e400}'),
    ("5,000 digits", EVENT + b'"/", "sessions": ' + b"9" * 5000 + b"}"),
    ("100,000 blank lines", b"\n" * 100_000),
    ("10,001 lines", b"{}\n" * 10_001),
]


def catalogue(port: int, tenant: w.Tenant) -> list[tuple[str, h.Reply, set[int]]]:
    valid = w.ndjson(w.stamp(w.key_pool(50, seed=9), "hostile-valid", 100_000))
    page = "p" * 2042
    big = w.ndjson(
        [
            {
                "date": w.day(1),
                "raw_referrer_value": "claude.ai",
                "raw_page_value": f"/{i:05d}{page}",
            }
            for i in range(10_000)
        ]
    )
    assert len(big) > 5 * MIB
    over = b"x" * (6 * MIB)
    chunked = head(tenant, "Transfer-Encoding: chunked\r\n")
    results = [
        ("chunked, valid, under the limit", raw_exchange(port, chunked, chunks(valid)), {200}),
        ("chunked, 6 MiB", raw_exchange(port, chunked, chunks(over)), {413}),
        (
            "chunked, 10,000 events x 2,048-char pages",
            raw_exchange(port, chunked, chunks(big)),
            {413},
        ),
        (
            "Content-Length, 10,000 x 2,048-char pages",
            raw_exchange(port, head(tenant, f"Content-Length: {len(big)}\r\n"), [big]),
            {413},
        ),
        (
            "declares 6 MiB, sends nothing",
            raw_exchange(port, head(tenant, f"Content-Length: {6 * MIB}\r\n"), [], True),
            {413},
        ),
        (
            "declares 100 bytes, sends 6 MiB",
            raw_exchange(port, head(tenant, "Content-Length: 100\r\n"), [over]),
            {400},
        ),
        (
            "declares 100,000 bytes, sends 500, EOF",
            raw_exchange(port, head(tenant, "Content-Length: 100000\r\n"), [valid[:500]], True),
            {400},
        ),
        (
            "Content-Length not a number",
            raw_exchange(port, head(tenant, "Content-Length: 12abc\r\n"), [valid], True),
            {400},
        ),
    ]
    for name, body in MALFORMED:
        reply = h.request(port, "POST", tenant.events_path, token=tenant.token, body=body)
        results.append((name, reply, {400, 413, 422}))
    event = {
        "date": w.day(1),
        "raw_referrer_value": "https://chatgpt.com/?q=" + INJECTION,
        "raw_page_value": "/" + INJECTION,
        "batch_id": INJECTION,
    }
    reply = h.request(
        port,
        "POST",
        tenant.events_path,
        token=tenant.token,
        body=json.dumps([event]).encode(),
        content_type="application/json",
    )
    results.append(("SQL + HTML injection in every string field", reply, {200}))
    return results


def run(pg, *, workers: int, rounds: int = 3) -> h.Verdict:
    verdict = h.Verdict("hostile input through gunicorn")
    h.header(verdict.name)
    tenant = w.seed("hostile.example")
    server = h.Gunicorn(pg, workers=workers, name="hostile")
    for n in range(2 * workers):  # warm every worker up with a valid push
        w.push(server.port, tenant, w.stamp(w.key_pool(2000, seed=10), f"warm-{n}", 1))
    rss_start = server.rss_mib()
    for n in range(rounds):  # repeated, so that a leak would show in the memory figure
        for name, reply, allowed in catalogue(server.port, tenant):
            ok = reply.status in allowed
            if n == 0:
                verdict.figure(f"{name:<45}", f"{reply.status or 'closed'}")
            verdict.check(ok, f"{name}: {reply.status} {reply.body[:200]!r}")
            verdict.check(reply.status < 500, f"{name}: a 5xx")
    alive = w.push(server.port, tenant, w.stamp(w.key_pool(10, seed=11), "after", 1))
    verdict.check(alive.status == 200, f"push after the catalogue: {alive.status}")
    rss_end = server.rss_mib()
    server.stop()
    from referrals.models import ReferralRow

    stored = ReferralRow.objects.filter(batch_id=INJECTION).get()
    verdict.check(
        stored.raw_page_value.encode() == ("/" + INJECTION).encode(), "injection not verbatim"
    )
    growth = max(e - s for s, e in zip(rss_start, rss_end, strict=False))
    verdict.figure(
        f"worker RSS MiB before -> after {rounds} rounds",
        f"{' '.join(f'{v:.0f}' for v in rss_start)} -> {' '.join(f'{v:.0f}' for v in rss_end)}",
    )
    verdict.check(len(rss_end) == len(rss_start), "a worker died during the catalogue")
    verdict.check(growth <= MAX_RSS_GROWTH_MIB, f"a worker grew by {growth:.0f} MiB")
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with h.database() as pg:
        return run(pg, workers=args.workers, rounds=args.rounds).finish()


if __name__ == "__main__":
    sys.exit(main())
