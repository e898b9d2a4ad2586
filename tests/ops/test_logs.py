"""One log line per request and per push, with request id, brand, connection, status and
duration; LOG_FORMAT=json turns every line into one JSON object."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from referrals.middleware import RequestIDLogFilter
from referrals.ops.logs import JsonFormatter
from tests.factories import event, push

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.django_db
def test_a_push_logs_a_request_line_and_a_push_line(api_client, connection, caplog):
    caplog.set_level(logging.INFO)
    push(api_client, connection, [event()], HTTP_X_REQUEST_ID="nightly-7")
    lines = {r.event: r for r in caplog.records if getattr(r, "event", None)}
    assert set(lines) == {"request", "push"}
    for record in lines.values():
        assert record.levelno == logging.INFO
        assert (record.brand_id, record.connection_id) == (connection.brand_id, connection.pk)
        assert record.status == 200 and record.duration_ms >= 0
    assert lines["push"].accepted == 1
    formatter = JsonFormatter()
    request_filter = RequestIDLogFilter()
    for record in lines.values():
        request_filter.filter(record)
        parsed = json.loads(formatter.format(record))
        assert parsed["status"] == 200 and parsed["connection_id"] == connection.pk
        assert parsed["level"] == "INFO" and parsed["message"].startswith(parsed["event"])


def test_json_lines_carry_the_request_id_and_extras():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "WARNING", "msg": "a %s", "args": ("b",), "brand_id": 3}
    )
    record.request_id = "r-1"
    parsed = json.loads(JsonFormatter().format(record))
    assert parsed["message"] == "a b"
    assert parsed["request_id"] == "r-1"
    assert parsed["brand_id"] == 3


def test_log_format_json_is_read_from_the_environment():
    env = {**os.environ, "LOG_FORMAT": "json", "DATABASE_URL": "sqlite:///:memory:"}
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('referrals.check').warning('hello %s', 'there')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "project.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there" and line["logger"] == "referrals.check"


@pytest.mark.django_db
def test_an_unknown_host_is_one_warning_line_not_an_error_with_a_traceback(client, caplog):
    # Any scanner reaching gunicorn by address wrote an ERROR and a 15-line traceback with its
    # whole Host header (up to 8 KB) for a plain 400: noise for an alert on errors.
    caplog.set_level(logging.INFO)
    host = "scanner-" + "x" * 5000 + ".example"
    assert client.get("/accounts/login/", HTTP_HOST=host).status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and record.exc_text is None
    message = record.getMessage()
    assert "Invalid HTTP_HOST header" in message and "\n" not in message
    assert len(message) < 300
