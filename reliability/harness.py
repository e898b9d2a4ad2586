"""Shared harness of the reliability checks: throwaway PostgreSQL, gunicorn, seeds, HTTP, verdicts.

Everything runs on this machine: PostgreSQL from scripts/pg.sh on a unix socket, gunicorn on
127.0.0.1. The driver process itself runs Django against the same database, to seed objects
and to read back what was stored. bench/ingest.py uses the same batches, seeds and gunicorn.
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
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

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


def setup_django() -> None:
    """Django set up against the environment's DATABASE_URL, with every migration applied."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextlib.contextmanager
def database():
    """A migrated throwaway PostgreSQL; Django in this process is set up against it."""
    pg = Postgres()
    try:
        os.environ["DATABASE_URL"] = pg.url
        os.environ["CONN_MAX_AGE"] = "0"  # the driver reconnects after a fault
        setup_django()
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


def start_gunicorn(
    env_extra: dict, port: int, workers: int = 1, extra_args: tuple = (), **popen
) -> subprocess.Popen:
    """gunicorn serving the project on 127.0.0.1:`port`, once it answers; the rest of its
    settings from gunicorn.conf.py, as in production."""
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", **env_extra}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "project.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        **popen,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/v1/schema")
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def memory_kib(pid: int, field: str) -> int:
    """A memory figure of /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn on a free port (start_gunicorn); stderr kept in a file."""

    def __init__(
        self,
        pg: Postgres,
        workers: int = 4,
        env: dict | None = None,
        name: str = "gunicorn",
        args: tuple = (),
    ):
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
            *args,
        )
        self.process = start_gunicorn(
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
        return [memory_kib(pid, "VmRSS") / 1024 for pid in self.workers()]

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

BATCH = 10_000
PAGES = 2_000
# The last day of the checks' batches: in the past, so later days stay valid (dates later than
# tomorrow are refused).
END = datetime.now(UTC).date() - timedelta(days=11)

AI_REFERRERS = [
    "chatgpt.com",
    "https://chatgpt.com/",
    "https://chatgpt.com/c/6650a1b2-aaaa-bbbb",
    "chat.openai.com",
    "https://www.perplexity.ai/search?q=best+running+shoes",
    "perplexity",
    "claude.ai",
    "https://claude.ai/chat/0b1c",
    "https://gemini.google.com/app",
    "copilot.microsoft.com",
    "https://www.bing.com/chat?form=NTPCHB",
    "https://x.com/i/grok?conversation=1",
    "chat.deepseek.com",
    "https://example.com/landing?utm_source=chatgpt.com&utm_medium=referral",
    "https://chat.mistral.ai/chat/" + "a" * 240,  # truncated at 255 bytes by the source tool
    "poe.com",
]
OTHER_REFERRERS = [
    "google.com",
    "https://www.google.com/",
    "Typed/Bookmarked",
    "(direct)",
    "facebook.com",
    "https://www.bing.com/search?q=x",
]


def page_value(i: int) -> str:
    return f"/section-{i % 25}/article-{i}-{'x' * (i % 40)}"


def make_batch(seed: int, day_end: date) -> list[dict]:
    """10,000 events: 80% AI referrers in mixed raw forms, 30 days, 2,000 pages, ~1% repeats."""
    rng = random.Random(seed)
    events = []
    for _ in range(BATCH):
        referrer = rng.choice(AI_REFERRERS) if rng.random() < 0.8 else rng.choice(OTHER_REFERRERS)
        sessions = rng.randint(1, 300)
        events.append(
            {
                "date": (day_end - timedelta(days=rng.randrange(30))).isoformat(),
                "raw_referrer_value": referrer,
                "raw_page_value": page_value(rng.randrange(PAGES)),
                "pageviews": sessions + rng.randint(0, 200),
                "sessions": sessions,
                "transactions": rng.randint(0, 3),
                "purchase_revenue": round(rng.random() * 500, 2) if rng.random() < 0.3 else None,
                "batch_id": f"bench-{seed}",
            }
        )
    for i in rng.sample(range(1, BATCH), BATCH // 100):  # repeated keys inside the batch
        events[i] = {**events[i - 1], "sessions": events[i]["sessions"]}
    return events


def ndjson(events: list[dict]) -> bytes:
    return "\n".join(json.dumps(e) for e in events).encode()


def seed_objects(website: str):
    """A new organization, brand, active connection to `website`, and a configure+query token."""
    from referrals.connections.services import connection_register
    from referrals.models import Brand, Organization
    from referrals.tenancy.services import api_key_create

    org, _ = Organization.objects.get_or_create(name=f"Bench {uuid.uuid4().hex[:6]}")
    brand = Brand.objects.create(organization=org, name="Bench brand")
    connection = connection_register(brand=brand, website=website, provider="adobe_analytics")
    token = api_key_create(organization=org, name="bench", scopes=["configure", "query"]).token
    return brand, connection, token


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
    brand, connection, token = seed_objects(website)
    return Tenant(brand.pk, connection.pk, token, connection)


def key_pool(size: int, seed: int = 0) -> list[dict]:
    """`size` events with distinct upsert keys, in the realistic mix of make_batch."""
    pool, seen, batch = [], set(), 0
    while len(pool) < size:
        for event in make_batch(seed * 1000 + batch, END):
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
    return (END - timedelta(days=offset)).isoformat()


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
