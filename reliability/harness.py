"""Shared harness of the reliability checks: throwaway PostgreSQL, gunicorn, seeds, HTTP, verdicts.

Everything runs on this machine: PostgreSQL from scripts/pg.sh on a unix socket, gunicorn on
127.0.0.1. The driver process itself runs Django against the same database, to seed objects
and to read back what was stored.
"""

import contextlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from bench import ingest as bench  # noqa: E402  (helpers: batches, seeds, gunicorn)

APP_NAME = "referrals-service"  # application_name of gunicorn's sessions in pg_stat_activity
KEY = tuple[str, str, str]  # (date, raw_referrer_value, raw_page_value)


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_sh(command: str, env: dict | None = None) -> str:
    script = f". '{ROOT}/scripts/pg.sh' && {command}"
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh {command}: {result.stderr}")
    return result.stdout


class Postgres:
    """A throwaway server (scripts/pg.sh); stop/start keep its data, destroy removes it."""

    def __init__(self):
        out = _pg_sh('pg_start && echo "$PG_DIR" && echo "$DATABASE_URL"').split()
        self.dir, self.url = out[-2], out[-1]

    def stop(self) -> None:
        _pg_sh("pg_server_stop", {"PG_DIR": self.dir})

    def start(self) -> None:
        _pg_sh("pg_server_start", {"PG_DIR": self.dir})

    def destroy(self) -> None:
        _pg_sh("pg_stop", {"PG_DIR": self.dir})


@contextlib.contextmanager
def database():
    """A migrated throwaway PostgreSQL; Django in this process is set up against it."""
    pg = Postgres()
    try:
        os.environ["DATABASE_URL"] = pg.url
        os.environ["CONN_MAX_AGE"] = "0"  # the driver reconnects after a fault
        bench.setup_django()
        yield pg
    finally:
        from django.db import connections

        connections.close_all()
        pg.destroy()


def service_url(pg: Postgres) -> str:
    return f"{pg.url}?application_name={APP_NAME}"


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def service_backends(in_transaction: bool = False) -> list[int]:
    where = " AND xact_start IS NOT NULL" if in_transaction else ""
    rows = sql(f"SELECT pid FROM pg_stat_activity WHERE application_name = %s{where}", [APP_NAME])
    return [pid for (pid,) in rows]


# --- gunicorn -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn on a free port, started by bench/ingest.py's helper; stderr kept in a file."""

    def __init__(self, pg: Postgres, workers: int = 4, env: dict | None = None, name="gunicorn"):
        self.port = free_port()
        self.workers_count = workers
        self.log_path = Path(pg.dir) / f"{name}-{self.port}.log"
        self.access_path = Path(pg.dir) / f"{name}-{self.port}.access.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        extra = (
            "--access-logfile",
            str(self.access_path),
            "--access-logformat",
            "%(p)s %(s)s %(U)s",
        )
        self.process = bench.start_gunicorn(
            {"DATABASE_URL": service_url(pg), "PUSH_RATE_LIMIT": "100000/min", **(env or {})},
            self.port,
            workers=workers,
            extra_args=extra,
            stderr=self._log,
        )
        self.wait_for_workers(workers)

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def wait_for_workers(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn workers did not start")
            time.sleep(0.1)

    def rss_mib(self) -> list[float]:
        return [bench.memory_kib(pid, "VmRSS") / 1024 for pid in self.workers()]

    def log_count(self, fragment: str) -> int:
        return self.log_path.read_text(errors="replace").count(fragment)

    def access_log(self, path: str) -> list[tuple[int, int]]:
        """(worker pid, status) of every request to `path` answered so far."""
        out = []
        for line in self.access_path.read_text().splitlines():
            pid, status, url = line.split(" ", 2)
            if url == path:
                out.append((int(pid.strip("<>")), int(status)))
        return out

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def worker_serving(server: Gunicorn, client_port: int) -> int | None:
    """The worker holding the server side of the client's TCP connection (from /proc)."""
    wanted = f":{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[2].endswith(wanted) and parts[1].endswith(f":{server.port:04X}"):
            inode = parts[9]
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in server.workers():
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        return pid
    return None


# --- seeds and batches --------------------------------------------------------------------


@dataclass
class Tenant:
    brand_id: int
    connection_id: str
    token: str
    connection: object = None

    @property
    def events_path(self) -> str:
        return f"/v1/{self.brand_id}/ai-referrals/connections/{self.connection_id}/events"


def seed(website: str) -> Tenant:
    brand, connection, token = bench.seed_objects(website)
    return Tenant(brand.pk, connection.pk, token, connection)


def key_pool(size: int, seed: int = 0) -> list[dict]:
    """`size` events with distinct upsert keys, in the realistic mix of bench/ingest.py."""
    pool, seen, batch = [], set(), 0
    while len(pool) < size:
        for event in bench.make_batch(seed * 1000 + batch, bench.END):
            key = event_key(event)
            if key not in seen:
                seen.add(key)
                pool.append(event)
        batch += 1
    return pool[:size]


def event_key(event: dict) -> KEY:
    return (event["date"], event["raw_referrer_value"], event["raw_page_value"])


def stamp(events: list[dict], batch_id: str, base: int) -> list[dict]:
    """Copies with this push's batch_id and metrics no other push has (base + position)."""
    out = []
    for i, event in enumerate(events):
        sessions = base + i
        out.append(
            {
                **event,
                "sessions": sessions,
                "pageviews": sessions + 1,
                "transactions": base // 100_000,
                "purchase_revenue": round(sessions / 100, 2),
                "batch_id": batch_id,
            }
        )
    return out


def ndjson(events: list[dict]) -> bytes:
    return bench.ndjson(events)


def accepted_keys(events: list[dict]) -> dict[KEY, tuple]:
    """What a push stores: AI-referrer events, last occurrence per key, as metric tuples."""
    from referrals.allow_list.platforms import matcher_build

    matcher = matcher_build()
    out = {}
    for event in events:
        if matcher.match(event["raw_referrer_value"]) is not None:
            out[event_key(event)] = metrics_of(event)
    return out


def metrics_of(event: dict) -> tuple:
    revenue = event.get("purchase_revenue")
    return (
        event.get("pageviews"),
        event.get("sessions"),
        event.get("transactions"),
        None if revenue is None else f"{revenue:.4f}",
        event.get("batch_id"),
    )


def stored_rows(connection_id: str) -> dict[KEY, tuple]:
    rows = sql(
        "SELECT date::text, raw_referrer_value, raw_page_value, pageviews, sessions, "
        "transactions, purchase_revenue::text, batch_id FROM referrals_referralrow "
        "WHERE connection_id = %s",
        [connection_id],
    )
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def duplicate_keys(connection_id: str) -> int:
    (count,) = sql(
        "SELECT count(*) FROM (SELECT 1 FROM referrals_referralrow WHERE connection_id = %s "
        "GROUP BY date, raw_referrer_value, raw_page_value HAVING count(*) > 1) d",
        [connection_id],
    )[0]
    return count


def rollup_mismatches(connection_id: str) -> int:
    """(day, platform) groups where the daily rollup differs from a GROUP BY of the rows."""
    (count,) = sql(
        "SELECT count(*) FROM (SELECT date, platform_id, count(*) AS n,"
        " sum(coalesce(pageviews, 0)) AS pv, sum(coalesce(sessions, 0)) AS s,"
        " sum(coalesce(transactions, 0)) AS t, sum(coalesce(purchase_revenue, 0)) AS r"
        " FROM referrals_referralrow WHERE connection_id = %s AND platform_id IS NOT NULL"
        " GROUP BY date, platform_id) g FULL JOIN (SELECT * FROM referrals_dailyplatformtotal"
        " WHERE connection_id = %s) d ON d.date = g.date AND d.platform_id = g.platform_id"
        " WHERE (g.n, g.pv, g.s, g.t, g.r) IS DISTINCT FROM"
        " (d.row_count, d.pageviews, d.sessions, d.transactions, d.purchase_revenue)",
        [connection_id, connection_id],
    )[0]
    return count


def shuffled(events: list[dict], rng: random.Random) -> list[dict]:
    events = list(events)
    rng.shuffle(events)
    return events


def day(offset: int) -> str:
    return (bench.END - timedelta(days=offset)).isoformat()


# --- HTTP ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection reset, refused, timeout)
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    error: str = ""

    def json(self):
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/x-ndjson",
    headers: dict | None = None,
    timeout: float = 120,
    on_connect=None,
) -> Reply:
    """One request on a fresh connection; never raises for network errors."""
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        all_headers.setdefault("Content-Type", content_type)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.connect()
        if on_connect:
            on_connect(conn.sock.getsockname()[1])
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        payload = response.read()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            payload,
            time.perf_counter() - started,
        )
    except (OSError, http.client.HTTPException) as exc:
        return Reply(0, seconds=time.perf_counter() - started, error=type(exc).__name__)
    finally:
        conn.close()


def push(port: int, tenant: Tenant, events: list[dict], **kwargs) -> Reply:
    return request(
        port, "POST", tenant.events_path, token=tenant.token, body=ndjson(events), **kwargs
    )


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# --- verdicts -----------------------------------------------------------------------------


class Verdict:
    """Collects figures and broken invariants; `finish` prints them and gives the exit code."""

    def __init__(self, name: str):
        self.name = name
        self.figures: list[tuple[str, object]] = []
        self.failures: list[str] = []
        self.started = time.monotonic()
        self.ended: float | None = None

    def close(self) -> "Verdict":
        """Stop the clock (the summary is printed later)."""
        self.ended = self.ended or time.monotonic()
        return self

    def figure(self, label: str, value) -> None:
        self.figures.append((label, value))
        print(f"  {label}: {value}", flush=True)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
            print(f"  INVARIANT BROKEN: {message}", flush=True)
        return ok

    def finish(self) -> int:
        elapsed = (self.ended or time.monotonic()) - self.started
        state = "OK" if not self.failures else f"FAILED ({len(self.failures)})"
        print(f"== {self.name}: {state} in {elapsed:.0f} s", flush=True)
        return 0 if not self.failures else 1


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def header(title: str) -> None:
    print(f"\n== {title}", flush=True)
