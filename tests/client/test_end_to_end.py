"""referrals-push against the real service: a live server thread, a real brand, connection and
API key; a small real HTTP proxy on 127.0.0.1 plays a server that answers 429 and 503 for a
while. Batches are kept small so that a few hundred rows make several pushes.
"""

import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from referrals_push import cli
from referrals_push.push import (
    EXIT_CLIENT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    PushFailed,
    push_rows,
)
from referrals_push.readers import read_rows
from referrals_push.records import REFERRALS
from referrals_push.state import OTHER_RUN

from referrals.allow_list.referrers import SEED_PLATFORMS
from referrals.models import AIPlatform, AIPlatformEntry, Connection, PushLog, ReferralRow
from tests.client.local_server import LocalServer

# A live server needs committed data (see tests/dashboard/test_browser.py).
pytestmark = pytest.mark.django_db(transaction=True)

AI = ["chatgpt.com", "www.perplexity.ai", "claude.ai", "gemini.google.com"]
FAST_RETRIES = ["--retry-base", "0.01", "--retry-cap", "0.05"]


def adobe_csv(path: Path, count: int, *, rejected_every: int = 10) -> Path:
    """An Adobe Data Warehouse export: `count` rows, every tenth from a non-AI referrer."""
    lines = ["Day,Referring Domain,Page URL,Page Views,Visits,Orders,Revenue"]
    for i in range(count):
        day = dt.date(2026, 5, 1) + dt.timedelta(days=i % 28)
        referrer = "google.com" if i % rejected_every == 0 else AI[i % len(AI)]
        lines.append(
            f'"{day:%B} {day.day}, {day.year}",{referrer},https://www.example.com/p/{i},'
            f'"{1000 + i:,}",{i},{i % 3},"${1000 + i:,}.50"'
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def allow_list(db):
    """The seeded allow-list, as migration 0002 makes it: an earlier transactional test's
    flush (pytest-django runs those last) may have emptied it."""
    for item in SEED_PLATFORMS:
        platform, _ = AIPlatform.objects.get_or_create(
            slug=item["slug"], defaults={"name": item["name"]}
        )
        for kind, values in (("host", item["hosts"]), ("alias", item["aliases"])):
            for value in values:
                AIPlatformEntry.objects.get_or_create(
                    value=value, defaults={"platform": platform, "kind": kind}
                )


@pytest.fixture
def service(live_server, allow_list, brand, connection, token, no_push_rate_limit, monkeypatch):
    monkeypatch.setenv("REFERRALS_API_TOKEN", token)
    return {
        "base_url": live_server.url,
        "brand": brand.pk,
        "connection": connection.pk,
        "token": token,
        "connection_obj": connection,
    }


def args_for(service, base_url=None) -> list[str]:
    return [
        "--base-url",
        base_url or service["base_url"],
        "--brand",
        str(service["brand"]),
        "--connection",
        service["connection"],
    ]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def stored_count(service) -> int:
    return ReferralRow.objects.filter(connection_id=service["connection"]).count()


def pushes(service, status=200) -> int:
    return PushLog.objects.filter(connection_id=service["connection"], status_code=status).count()


# --- a proxy that answers for the service for a while ---


class Proxy(LocalServer):
    """A real HTTP server on 127.0.0.1 that answers `plan(n)` for request n (1-based) when it
    gives a status, and forwards the request to the live server when it gives None."""

    def __init__(self, target: str, plan):
        self.target = urlsplit(target)
        self.plan = plan
        self.count = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.count += 1
                    answer = proxy.plan(proxy.count)
                if answer is not None:
                    status, headers = answer
                    payload = json.dumps({"detail": f"proxy says {status}"}).encode()
                    self.send_response(status)
                    for name, value in {**headers, "Content-Type": "application/json"}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port)
                names = ("Authorization", "Content-Type", "Content-Encoding", "X-Request-ID")
                headers = {n: self.headers[n] for n in names if self.headers[n] is not None}
                upstream.request("POST", self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for name in ("Content-Type", "Retry-After", "X-Request-ID"):
                    if response.getheader(name):
                        self.send_header(name, response.getheader(name))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

        super().__init__(Handler)


# --- referrals ---


def test_adobe_export_pushed_in_batches(service, tmp_path, capsys):
    path = adobe_csv(tmp_path / "adobe.csv", 250)
    code, out, err = run(
        ["referrals", str(path), *args_for(service), "--preset", "adobe", "--batch-rows", "100"],
        capsys,
    )
    assert code == EXIT_OK, out + err
    assert stored_count(service) == 225  # every tenth row came from google.com
    assert pushes(service) == 3  # 100 + 100 + 50
    row = ReferralRow.objects.get(raw_page_value="https://www.example.com/p/1")
    assert (row.date, row.raw_referrer_value) == (dt.date(2026, 5, 2), "www.perplexity.ai")
    assert (row.pageviews, row.sessions, row.transactions) == (1001, 1, 1)
    assert row.purchase_revenue == Decimal("1001.5000")
    assert "accepted                225" in out
    assert "rejected                 25" in out
    assert "exit code      0" in out
    assert "batch 3: 50 rows" in err  # plain lines: stderr is no terminal here
    # Each reason once, with its first row: not one line per rejected row.
    assert f"rejected: referrer 'google.com' is not an AI platform (first: {path}:2)" in out
    assert out.count("rejected: referrer") == 1


def test_ga4_data_api_names_through_the_python_api(service, tmp_path):
    path = tmp_path / "ga4.csv"
    path.write_text(
        "date,sessionSource,landingPage,screenPageViews,sessions,transactions,purchaseRevenue\n"
        '20260520,chatgpt.com,/blog/launch,"1,200",800,4,812.50\n'
        "20260520,claude.ai,/docs,50,30,0,0\n"
        "20260521,bing.com,/docs,5,3,0,0\n"
    )
    result = push_rows(
        read_rows(str(path), kind=REFERRALS, preset="ga4"),
        base_url=service["base_url"],
        brand=service["brand"],
        connection=service["connection"],
    )
    assert (result.accepted, result.rejected, result.exit_code) == (2, 1, EXIT_OK)
    row = ReferralRow.objects.get(raw_page_value="/blog/launch")
    assert (row.pageviews, row.sessions, row.purchase_revenue) == (1200, 800, Decimal("812.5"))


def test_plain_dicts_through_the_python_api(service):
    rows = [
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": f"/{i}"}
        for i in range(30)
    ]
    result = push_rows(
        rows,
        base_url=service["base_url"],
        brand=service["brand"],
        connection=service["connection"],
        batch_rows=7,
    )
    assert (result.accepted, result.batches, result.rows_sent) == (30, 5, 30)
    assert stored_count(service) == 30


def test_dry_run_stores_nothing(service, tmp_path, capsys):
    path = adobe_csv(tmp_path / "adobe.csv", 40)
    code, out, _ = run(
        ["referrals", str(path), *args_for(service), "--preset", "adobe", "--dry-run"], capsys
    )
    assert code == EXIT_OK
    assert "dry run: nothing stored" in out
    assert "accepted                 36" in out
    assert stored_count(service) == 0
    assert not PushLog.objects.exists()  # a dry run is not logged


def test_resume_after_an_interruption_sends_no_batch_twice(service, tmp_path, capsys):
    path = adobe_csv(tmp_path / "adobe.csv", 250)
    state = tmp_path / "push.state"
    common = ["referrals", str(path), "--preset", "adobe", "--batch-rows", "50"]
    common += ["--resume", str(state), *FAST_RETRIES]

    # The service goes away after two batches: the run stops, its state says 100 rows.
    with Proxy(service["base_url"], lambda n: None if n <= 2 else (503, {})) as proxy:
        code, out, err = run(
            [*common, *args_for(service, proxy.url), "--max-attempts", "3"], capsys
        )
    assert code == EXIT_UNAVAILABLE, out + err
    assert "server unavailable: HTTP 503: proxy says 503 after 3 attempts" in err
    assert json.loads(state.read_text())["rows_done"] == 100
    assert (pushes(service), stored_count(service)) == (2, 90)

    # Resumed: the three batches left, and nothing before them again.
    code, out, err = run([*common, *args_for(service)], capsys)
    assert code == EXIT_OK, out + err
    assert "already sent            100" in out
    assert (pushes(service), stored_count(service)) == (5, 225)
    assert "accepted                225" in out  # the summary counts both runs

    # Run again with the same state (a scheduler's retry after success): nothing is sent.
    code, out, _ = run([*common, *args_for(service)], capsys)
    assert code == EXIT_OK
    assert pushes(service) == 5
    assert "sent                      0" in out


def test_ctrl_c_keeps_the_state_and_resume_goes_on(service, tmp_path):
    """Interrupted while reading (Ctrl-C, or SIGTERM from a scheduler): exit 130, and the
    stored batches are in the state file; the next run sends only the rest."""
    events = [
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": f"/{i}"}
        for i in range(45)
    ]

    def interrupted():
        yield from events[:25]
        raise KeyboardInterrupt

    state = tmp_path / "api.state"
    target = {k: service[k] for k in ("base_url", "brand", "connection")}
    first = push_rows(interrupted(), **target, state_file=state, batch_rows=10, check=False)
    assert (first.exit_code, first.rows_sent) == (EXIT_INTERRUPTED, 20)
    assert f"--resume {state} continues" in first.failure
    assert json.loads(state.read_text())["rows_done"] == 20
    second = push_rows(events, **target, state_file=state, batch_rows=10)
    assert (second.rows_resumed, second.rows_sent, second.accepted) == (20, 25, 45)
    assert (pushes(service), stored_count(service)) == (5, 45)


def test_a_state_file_of_another_run_is_refused(service, tmp_path, capsys):
    state = tmp_path / "push.state"
    first = adobe_csv(tmp_path / "a.csv", 10)
    second = adobe_csv(tmp_path / "b.csv", 11)
    base = [*args_for(service), "--preset", "adobe", "--resume", str(state)]
    assert run(["referrals", str(first), *base], capsys)[0] == EXIT_OK
    code, _, err = run(["referrals", str(second), *base], capsys)
    assert code == 2
    assert OTHER_RUN.format(path=state) in err


@pytest.mark.parametrize(
    ("setting", "value"), [("PUSH_MAX_EVENTS", 40), ("PUSH_MAX_BODY_BYTES", 12 * 1024)]
)
def test_a_batch_that_only_fits_once_split(service, tmp_path, capsys, settings, setting, value):
    setattr(settings, setting, value)  # the server's own limit, lower than the client's batch
    path = adobe_csv(tmp_path / "adobe.csv", 100)
    code, out, err = run(
        ["referrals", str(path), *args_for(service), "--preset", "adobe", "--batch-rows", "100"],
        capsys,
    )
    assert code == EXIT_OK, out + err
    assert "413 for 100 rows: sending them in two halves" in err
    assert stored_count(service) == 90
    assert pushes(service, 413) >= 1


def test_retries_429_and_503_until_the_service_answers(service, tmp_path, capsys):
    answers = {1: (429, {"Retry-After": "0"}), 2: (429, {"Retry-After": "1"}), 3: (503, {})}
    answers[4] = (503, {"Retry-After": "0"})
    path = adobe_csv(tmp_path / "adobe.csv", 120)
    with Proxy(service["base_url"], answers.get) as proxy:
        code, out, err = run(
            ["referrals", str(path), *args_for(service, proxy.url), "--preset", "adobe"]
            + ["--batch-rows", "60", *FAST_RETRIES],
            capsys,
        )
        assert proxy.count == 6  # 4 refusals, then the 2 batches
    assert code == EXIT_OK, out + err
    assert "HTTP 429; retry 1/9 in 0." in err
    assert "HTTP 429; retry 2/9 in 1." in err  # Retry-After: 1 honoured
    assert "HTTP 503; retry 3/9" in err
    assert "retries                   4" in out
    assert stored_count(service) == 108
    assert pushes(service) == 2


def test_network_errors_are_retried_then_reported(service, tmp_path, capsys):
    path = adobe_csv(tmp_path / "adobe.csv", 5)
    code, out, err = run(
        ["referrals", str(path), *args_for(service, "http://127.0.0.1:9"), "--preset", "adobe"]
        + ["--max-attempts", "2", *FAST_RETRIES],
        capsys,
    )
    assert code == EXIT_UNAVAILABLE
    assert "network error (ConnectError: [Errno 111] Connection refused); retry 1/1" in err
    assert f"rows {path}:2..{path}:6 not sent" in err


def test_invalid_rows_are_reported_and_the_rest_is_sent(service, tmp_path, capsys):
    path = tmp_path / "adobe.csv"
    path.write_text(
        "Day,Referring Domain,Page URL,Visits\n"
        "2026-05-20,chatgpt.com,/a,3\n"
        "2026-05-20,chatgpt.com,/b,three\n"
        "2026-05-20,chatgpt.com,/c,4\n"
    )
    code, out, err = run(["referrals", str(path), *args_for(service), "--preset", "adobe"], capsys)
    assert code == EXIT_INVALID
    assert f"invalid row {path}:3: sessions: 'three' is not a number" in err
    assert f"invalid: {path}:3: sessions: 'three' is not a number" in out
    assert stored_count(service) == 2


def test_a_date_after_tomorrow_is_an_invalid_row_and_the_rest_is_sent(service, tmp_path, capsys):
    too_late = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)).isoformat()
    path = tmp_path / "events.ndjson"
    lines = [
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"},
        {"date": too_late, "raw_referrer_value": "chatgpt.com", "raw_page_value": "/b"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, out, err = run(["referrals", str(path), *args_for(service)], capsys)
    assert code == EXIT_INVALID
    assert f"invalid: {path}:2: date: '{too_late}' is later than tomorrow" in out
    assert stored_count(service) == 1


def test_the_servers_422_stops_the_push_naming_the_rows(service):
    """Dicts given to the Python API go as they are: the service's 422 names them."""
    too_late = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)).isoformat()
    rows = [
        {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"},
        {"date": too_late, "raw_referrer_value": "chatgpt.com", "raw_page_value": "/b"},
    ]
    target = {k: service[k] for k in ("base_url", "brand", "connection")}
    result = push_rows(rows, **target, check=False)
    assert result.exit_code == EXIT_INVALID
    assert "the server refused 1 invalid value(s); nothing of this batch was stored" in (
        result.failure
    )
    assert "row 1: date: " in result.failure
    assert stored_count(service) == 0


def test_other_client_errors_stop_with_the_servers_message(service, tmp_path, capsys, monkeypatch):
    path = adobe_csv(tmp_path / "adobe.csv", 5)
    Connection.objects.filter(pk=service["connection"]).update(status=Connection.STATUS_DISABLED)
    code, _, err = run(["referrals", str(path), *args_for(service), "--preset", "adobe"], capsys)
    assert code == EXIT_CLIENT_ERROR
    assert "HTTP 410 [request push-" in err
    assert "is disabled; register a new one and push to it." in err

    monkeypatch.setenv("REFERRALS_API_TOKEN", "not-a-token")
    code, _, err = run(["referrals", str(path), *args_for(service), "--preset", "adobe"], capsys)
    assert code == EXIT_CLIENT_ERROR
    assert "HTTP 401" in err


def test_the_python_api_raises_on_failure(service):
    with pytest.raises(PushFailed) as failed:
        push_rows(
            [{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"}],
            base_url=service["base_url"],
            brand=service["brand"],
            connection="01JX2Y6E8H1AKQ8V0W7G4D9SXT",
        )
    assert failed.value.result.exit_code == EXIT_CLIENT_ERROR
    assert "HTTP 404" in str(failed.value)


def test_the_console_script_from_stdin(service, tmp_path):
    """The installed command, as a scheduler runs it: stdin, no terminal, the token in env."""
    script = Path(sys.executable).parent / "referrals-push"
    csv_text = adobe_csv(tmp_path / "adobe.csv", 20).read_text()
    env = {**os.environ, "REFERRALS_API_TOKEN": service["token"]}
    done = subprocess.run(
        [str(script), "referrals", "-", *args_for(service), "--preset", "adobe"],
        input=csv_text,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted                 18" in done.stdout
    assert stored_count(service) == 18
