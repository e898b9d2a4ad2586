"""Shared harness of the reliability checks: throwaway PostgreSQL, gunicorn, HTTP, verdicts.

Everything runs on this machine: PostgreSQL from scripts/pg.sh on a unix socket, gunicorn on
127.0.0.1. The driver process itself runs Django against the same database, to seed objects
and to read back what was stored (reliability/workload.py). bench/ingest.py starts gunicorn
the same way.
"""

import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

APP_NAME = "referrals-service"  # application_name of gunicorn's sessions in pg_stat_activity


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
