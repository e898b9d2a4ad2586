"""Metrics under gunicorn with several workers: every scrape, whichever worker answers it,
reports the totals of all workers, and a restarted worker's counts are kept."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reliability.harness import free_port, request, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "scrape-token"
PUSHES = 6
WORKERS = 3


@pytest.fixture
def served(tmp_path):
    """gunicorn with WORKERS workers on a migrated SQLite file of its own, seeded."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'metrics.sqlite3'}",
        "METRICS_TOKEN": TOKEN,
        "PUSH_RATE_LIMIT": "100000/min",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [*manage, "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    token = re.search(r"API key:\s+(\S+)", seeded).group(1)
    events = re.search(r"http://\S+(/v1/\S+/events)", seeded).group(1)
    port = free_port()
    server = start_gunicorn({k: env[k] for k in env if k != "LOG_LEVEL"}, port, workers=WORKERS)
    try:
        yield port, token, events, server
    finally:
        server.terminate()
        server.wait(20)


def scrape(port: int) -> dict[tuple, float]:
    reply = request(port, "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 200, reply.body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def totals(samples: dict) -> tuple:
    def get(name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    provider = "adobe_analytics"
    return (
        get("referrals_pushes_total", status="200", kind="referral", provider=provider),
        get("referrals_push_rows_total", outcome="accepted", kind="referral", provider=provider),
        get("referrals_push_rows_total", outcome="rejected", kind="referral", provider=provider),
        get("referrals_push_duration_seconds_count", provider=provider),
        get("referrals_push_events_sum", provider=provider),
    )


def workers(server) -> list[int]:
    path = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def test_totals_across_workers_and_restarts(served):
    port, token, events, server = served
    rows = [
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"},
        {"date": "2026-05-20", "raw_referrer_value": "perplexity.ai", "raw_page_value": "/b"},
        {"date": "2026-05-20", "raw_referrer_value": "google.com", "raw_page_value": "/c"},
    ]
    body = "\n".join(json.dumps(row) for row in rows).encode()
    statuses = []

    def send():
        statuses.append(request(port, "POST", events, token=token, body=body).status)

    threads = [threading.Thread(target=send) for _ in range(PUSHES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * PUSHES
    expected = (PUSHES, 2 * PUSHES, PUSHES, PUSHES, 3 * PUSHES)
    # Each scrape is a new connection: several workers answer them, and all agree.
    assert {totals(scrape(port)) for _ in range(3 * WORKERS)} == {expected}

    first = workers(server)[0]
    os.kill(first, signal.SIGTERM)  # gunicorn starts another in its place
    deadline = time.monotonic() + 30
    while first in workers(server) or len(workers(server)) < WORKERS:
        assert time.monotonic() < deadline, "the worker was not replaced"
        time.sleep(0.1)
    assert {totals(scrape(port)) for _ in range(3 * WORKERS)} == {expected}
