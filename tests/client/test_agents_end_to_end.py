"""`referrals-push agents` against the real service: an nginx access log summarized into daily
agent-traffic rows and pushed (gzip, in several batches) to a live server thread, with a real
brand, agent connection and API key. The stored rows are checked hit for hit."""

import datetime as dt
import gzip
import importlib

import pytest
from django.apps import apps
from referrals_push import cli
from referrals_push.push import EXIT_OK, push_rows

from referrals.models import AgentTrafficRow, DroppedUserAgent, PushLog, SitemapPage
from tests.factories import agent_connection_make

# A live server needs committed data (see tests/dashboard/test_browser.py).
pytestmark = pytest.mark.django_db(transaction=True)

GPTBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot"
)
CLAUDEBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)"
)
PERPLEXITY_USER = (
    "Mozilla/5.0 (compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def line(agent: str, path: str, when: str, status: int = 200) -> str:
    return f'20.171.207.1 - - [{when}] "GET {path} HTTP/1.1" {status} 5120 "-" "{agent}"'


def nginx_log() -> tuple[str, dict[tuple, int]]:
    """A day and a half of an access log, and the hits it must store per (UTC day, user
    agent, path): queries dropped, times in other zones moved to their UTC day, browsers
    rejected by the service."""
    lines: list[str] = []
    expected: dict[tuple, int] = {}

    def add(agent, path, when, key, count=1):
        for _ in range(count):
            lines.append(line(agent, path, when))
        if key is not None:
            expected[key] = expected.get(key, 0) + count

    for i in range(30):  # 30 pages GPTBot fetched on 20 May, i + 1 times each
        page = f"/docs/{i}"
        add(GPTBOT, page, "20/May/2026:03:00:00 +0000", ("2026-05-20", GPTBOT, page), i + 1)
    add(GPTBOT, "/pricing?utm_source=x", "20/May/2026:10:00:00 +0000", None, 2)
    add(GPTBOT, "/pricing?b=2", "21/May/2026:01:30:00 +0200", None, 1)  # 20 May in UTC
    expected[("2026-05-20", GPTBOT, "/pricing")] = 3
    add(GPTBOT, "/pricing", "20/May/2026:23:30:00 -0200", ("2026-05-21", GPTBOT, "/pricing"))
    may21 = "21/May/2026:08:00:00 +0000"
    add(CLAUDEBOT, "/blog/launch", may21, ("2026-05-21", CLAUDEBOT, "/blog/launch"), 7)
    add(PERPLEXITY_USER, "/pricing", may21, ("2026-05-21", PERPLEXITY_USER, "/pricing"), 4)
    add(FIREFOX, "/pricing", "21/May/2026:09:16:00 +0000", None, 50)  # a person: rejected
    return "\n".join(lines) + "\n", expected


def seed_lists() -> None:
    """The seeded platforms and agents, as the data migrations left them: an earlier
    transactional test's flush empties every table (idempotent)."""
    for name in ("0002_seed_ai_platforms", "0014_agent_traffic"):
        importlib.import_module(f"referrals.migrations.{name}").seed(apps, None)


@pytest.fixture
def service(live_server, brand, token, no_push_rate_limit, monkeypatch):
    seed_lists()
    monkeypatch.setenv("REFERRALS_API_TOKEN", token)
    connection = agent_connection_make(brand, website="example.com", provider="nginx")
    return {"base_url": live_server.url, "brand": brand.pk, "connection": connection.pk}


def stored(connection_id: str) -> dict[tuple, int]:
    rows = AgentTrafficRow.objects.filter(connection_id=connection_id)
    return {
        (row.date.isoformat(), row.raw_user_agent, row.raw_page_value): row.hits for row in rows
    }


def test_an_nginx_log_is_stored_hit_for_hit(service, tmp_path, capsys):
    text, expected = nginx_log()
    path = tmp_path / "access.log.1.gz"
    path.write_bytes(gzip.compress(text.encode()))
    argv = [
        "agents",
        str(path),
        "--log-format",
        "nginx",
        "--base-url",
        service["base_url"],
        "--brand",
        str(service["brand"]),
        "--connection",
        service["connection"],
        "--batch-rows",
        "10",
    ]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == EXIT_OK, out + err
    # 30 + /pricing on two days + Claude + Perplexity, and Firefox's row sent and rejected.
    assert len(expected) == 34
    assert stored(service["connection"]) == expected
    assert sum(expected.values()) == 465 + 3 + 1 + 7 + 4
    agents = dict(
        AgentTrafficRow.objects.filter(raw_page_value="/pricing", date=dt.date(2026, 5, 21))
        .select_related("agent")
        .values_list("raw_user_agent", "agent__name")
    )
    assert agents == {GPTBOT: "GPTBot", PERPLEXITY_USER: "Perplexity-User"}
    assert all(v is None for v in AgentTrafficRow.objects.values_list("verified", flat=True))
    assert dict(DroppedUserAgent.objects.values_list("raw_user_agent", "count")) == {FIREFOX: 1}
    assert "accepted                 34" in out and "rejected                  1" in out
    assert PushLog.objects.filter(connection_id=service["connection"], status_code=200).count() == 4
    paths = set(SitemapPage.objects.values_list("raw_page_value", flat=True))
    assert {"/pricing", "/blog/launch", "/docs/0", "/docs/29"} <= paths

    # Pushing the same log again replaces, never adds: the hits stay exact.
    assert cli.main(argv) == EXIT_OK
    capsys.readouterr()
    assert stored(service["connection"]) == expected


def test_agent_rows_through_the_python_api(service):
    rows = [
        {"date": "2026-05-20", "raw_user_agent": GPTBOT, "raw_page_value": "/a", "hits": 12,
         "verified": True},
        {"date": "2026-05-20", "raw_user_agent": CLAUDEBOT, "raw_page_value": "/a", "hits": 3},
        {"date": "2026-05-20", "raw_user_agent": FIREFOX, "raw_page_value": "/a", "hits": 9},
    ]  # fmt: skip
    result = push_rows(
        rows,
        kind="agents",
        base_url=service["base_url"],
        brand=service["brand"],
        connection=service["connection"],
    )
    assert (result.accepted, result.rejected, result.exit_code) == (2, 1, EXIT_OK)
    assert stored(service["connection"]) == {
        ("2026-05-20", GPTBOT, "/a"): 12,
        ("2026-05-20", CLAUDEBOT, "/a"): 3,
    }
    verified = dict(AgentTrafficRow.objects.values_list("raw_user_agent", "verified"))
    assert verified == {GPTBOT: True, CLAUDEBOT: None}


def test_lines_of_no_request_are_skipped_and_the_push_is_ok(service, tmp_path, capsys):
    """A day of a public server's log: a connection closed before its request, and a TLS
    handshake on port 80, as nginx logs them. Not an error: exit 0, counted as skipped."""
    when = "20/May/2026:03:00:00 +0000"
    text = "\n".join(
        [
            line(GPTBOT, "/a", when),
            f'1.2.3.4 - - [{when}] "-" 400 0 "-" "-"',
            f'1.2.3.4 - - [{when}] "\\x16\\x03\\x01\\x00\\xca\\x01" 400 157 "-" "-"',
        ]
    )
    path = tmp_path / "access.log"
    path.write_text(text + "\n")
    target = ["--base-url", service["base_url"], "--brand", str(service["brand"])]
    argv = ["agents", str(path), "--log-format", "nginx", *target]
    code = cli.main([*argv, "--connection", service["connection"]])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, out + err
    assert "skipped                   2" in out
    assert "invalid                   0" in out
    assert stored(service["connection"]) == {("2026-05-20", GPTBOT, "/a"): 1}
