"""LOG_FORMAT=json under a real gunicorn: every line on its stderr is a JSON object, its own
(boot, workers, signals) as well as the application's (requests, warnings, errors)."""

import json
import os
import signal
import time
from pathlib import Path

from reliability.harness import free_port, request, start_gunicorn


def test_every_stderr_line_is_json(tmp_path):
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",  # never migrated: /readyz fails
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        server = start_gunicorn(
            env, port, workers=2, extra_args=("--log-level", "info"), stdout=out, stderr=err
        )
    try:
        assert request(port, "GET", "/healthz").status == 200
        assert request(port, "GET", "/readyz").status == 503
        assert request(port, "GET", "/no/such/page").status == 404
        assert request(port, "POST", "/v1/1/ai-referrals/connections/1/events", body=b"x").status
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        worker = int(children.read_text().split()[0])
        os.kill(worker, signal.SIGTERM)  # gunicorn logs the exit and boots another
        deadline = time.monotonic() + 30
        while worker in map(int, children.read_text().split()):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    lines = stderr.read_text().splitlines()
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON: {line!r}\n" + "\n".join(lines)) from None
    assert all(isinstance(entry, dict) and entry["message"] for entry in entries)
    gunicorn = [e["message"] for e in entries if e["logger"] == "gunicorn.error"]
    assert any(message.startswith("Starting gunicorn") for message in gunicorn)
    assert any(message.startswith("Booting worker") for message in gunicorn)
    assert any("Shutting down" in message for message in gunicorn)
    requests = [e for e in entries if e["logger"] == "referrals.requests"]
    assert {e["status"] for e in requests} >= {404}
    for line in stdout.read_text().splitlines():
        json.loads(line)
