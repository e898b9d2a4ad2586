"""Answers no healthy service gives, from a real HTTP server on 127.0.0.1: the command stops
with a message and an exit code, never a traceback, and never prints the token."""

import datetime as dt
import gzip
import json
from decimal import Decimal
from http.server import BaseHTTPRequestHandler

import pytest
from referrals_push import cli
from referrals_push.push import (
    EXIT_CLIENT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    push_rows,
)

from tests.client.local_server import LocalServer

TOKEN = "air_secret-token-value"
CSV = "date,raw_referrer_value,raw_page_value\n2026-05-20,chatgpt.com,/a\n"


class Answering(LocalServer):
    """A server that answers every POST with `status`, `body` and `content_type`."""

    def __init__(self, status: int, body: bytes, content_type: str, location: str = ""):
        self.authorization: list[str] = []
        self.bodies: list[bytes] = []
        answering = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                answering.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                answering.authorization.append(self.headers.get("Authorization", ""))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def push(base_url: str, tmp_path, monkeypatch, capsys, token=TOKEN) -> tuple[int, str, str]:
    monkeypatch.setenv("REFERRALS_API_TOKEN", token)
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    argv = ["referrals", str(path), "--base-url", base_url, "--brand", "1", "--connection", "c"]
    code = cli.main([*argv, "--max-attempts", "2", "--retry-base", "0.01", "--retry-cap", "0.02"])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!doctype html><title>Welcome</title>", "text/html"),  # a web site, not the API
        (b'{"status": "ok"}', "application/json"),  # JSON, but no push outcome
        (b"", "text/plain"),
    ],
)
def test_a_200_that_is_no_push_outcome_stops_the_push(
    tmp_path, monkeypatch, capsys, body, content_type
):
    with Answering(200, body, content_type) as server:
        code, out, err = push(server.url, tmp_path, monkeypatch, capsys)
    assert code == EXIT_CLIENT_ERROR
    assert "HTTP 200 without a push outcome" in err
    assert "--base-url" in err
    assert "accepted                  0" in out


OUTCOME = b'{"accepted": 1, "rejected": 0, "errors": [], "warnings": []}'


@pytest.mark.parametrize("token", [f"{TOKEN}\n", f" {TOKEN}\r\n", f"\t{TOKEN} "])
def test_a_token_read_from_a_secret_file_loses_its_line_break(tmp_path, monkeypatch, capsys, token):
    """A Kubernetes secret or `echo $TOKEN > file` ends in a newline: not part of the token."""
    with Answering(200, OUTCOME, "application/json") as server:
        code, out, err = push(server.url, tmp_path, monkeypatch, capsys, token=token)
    assert code == EXIT_OK, out + err
    assert server.authorization == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("token", ["tøken-with-accents", "two words", "a\nb"])
def test_a_token_no_header_can_carry_is_a_usage_error(tmp_path, monkeypatch, capsys, token):
    with Answering(200, OUTCOME, "application/json") as server:
        with pytest.raises(SystemExit) as stop:
            push(server.url, tmp_path, monkeypatch, capsys, token=token)
        assert server.authorization == []
    assert stop.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "REFERRALS_API_TOKEN" in err
    assert token not in err


def test_rows_that_cannot_be_json_are_reported_and_the_rest_is_sent():
    """A lone surrogate (valid in JSON input, not in UTF-8) or a NaN in a passed-on field
    (Python's json reads it; the service's JSON does not) is an invalid row, not a traceback
    or a 400 for the whole batch."""
    good = {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"}
    rows = [
        {**good, "raw_page_value": "/caf\ud800"},
        {**good, "extra": float("nan")},
        good,
    ]
    with Answering(200, OUTCOME, "application/json") as server:
        result = push_rows(
            rows, base_url=server.url, brand=1, connection="c", token=TOKEN, check=False
        )
        assert len(server.authorization) == 1
    assert result.exit_code == EXIT_INVALID
    assert [bad.origin for bad in result.invalid] == ["row 0", "row 1"]
    assert "cannot be sent as JSON" in result.invalid[0].message
    assert result.rows_sent == 1


def test_a_tls_error_says_what_went_wrong(tmp_path, monkeypatch, capsys):
    """https:// to a server that speaks plain HTTP: the TLS library's reason is shown (a
    certificate that does not verify reads the same way), not only 'ConnectError'."""
    with Answering(200, OUTCOME, "application/json") as server:
        url = server.url.replace("http://", "https://")
        code, out, err = push(url, tmp_path, monkeypatch, capsys)
    assert code == EXIT_UNAVAILABLE
    assert "network error (ConnectError: [SSL" in err
    assert "network error (ConnectError: [SSL" in out


def test_a_refused_connection_says_so(tmp_path, monkeypatch, capsys):
    code, out, err = push("http://127.0.0.1:9", tmp_path, monkeypatch, capsys)
    assert code == EXIT_UNAVAILABLE
    assert "network error (ConnectError: [Errno 111] Connection refused); retry 1/1" in err


def test_a_redirect_names_where_the_service_is(tmp_path, monkeypatch, capsys):
    """http:// to a server that redirects to https:// (a POST is not followed): the message
    says which --base-url to use instead of printing the redirect page."""
    page = b"<html><body>301 Moved Permanently</body></html>"
    with Answering(301, page, "text/html", location="https://referrals.example.com/v1/x") as s:
        code, out, err = push(s.url, tmp_path, monkeypatch, capsys)
    assert code == EXIT_CLIENT_ERROR
    assert "HTTP 301: redirected to https://referrals.example.com/v1/x" in err
    assert "--base-url" in err
    assert "Moved Permanently</body>" not in err


def test_rows_of_a_database_query_are_sent(tmp_path):
    """An Airflow task's rows come from a query: dates as datetime.date, money as Decimal
    (a NUMERIC column). They are sent as the API takes them, not a TypeError traceback; a value
    of another type is an invalid row."""
    rows = [
        {
            "date": dt.date(2026, 5, 20),
            "raw_referrer_value": "chatgpt.com",
            "raw_page_value": "/a",
            "sessions": Decimal("12"),
            "purchase_revenue": Decimal("1234.5600"),
        },
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": object()},
    ]
    with Answering(200, OUTCOME, "application/json") as server:
        result = push_rows(
            rows, base_url=server.url, brand=1, connection="c", token=TOKEN, check=False
        )
        (body,) = server.bodies
    assert json.loads(gzip.decompress(body)) == {
        "date": "2026-05-20",
        "raw_referrer_value": "chatgpt.com",
        "raw_page_value": "/a",
        "sessions": 12,
        "purchase_revenue": 1234.56,
    }
    assert [bad.origin for bad in result.invalid] == ["row 1"]
    assert "cannot be sent as JSON: object is no JSON value" in result.invalid[0].message
