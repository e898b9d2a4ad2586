"""Web-server and CDN logs summarized into daily agent-traffic rows (UTC day, path, hits)."""

import gzip
import json

import pytest
from referrals_push.logs import page_path, parse_cloudflare, parse_combined, summarize_logs
from referrals_push.readers import Skipped
from referrals_push.records import BadRow, Row

GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot"
CLAUDE = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)"
)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def combined(
    ip="20.171.207.1",
    when="20/May/2026:10:00:00 +0000",
    request="GET /a HTTP/1.1",
    status="200",
    agent=GPTBOT,
    referrer="-",
):
    return f'{ip} - - [{when}] "{request}" {status} 5120 "{referrer}" "{agent}"'


NGINX = (
    "\n".join(
        [
            combined(),
            combined(request="GET /a?utm=1&x=2 HTTP/1.1"),  # same page: the query is dropped
            combined(when="20/May/2026:23:30:00 -0200"),  # 21 May in UTC
            combined(when="21/May/2026:01:30:00 +0200"),  # 20 May in UTC
            combined(agent=CLAUDE, request="GET /b HTTP/2.0", status="304"),
            combined(agent=BROWSER, request="HEAD /a HTTP/1.1"),
            "",
            "\\x16\\x03\\x01 garbage from a scanner",
            combined(request="\\x16\\x03\\x01\\x02\\x00\\x01\\x00", status="400"),
            combined(request="GET https://www.example.com/c?q=1 HTTP/1.1"),
            combined(when="32/May/2026:10:00:00 +0000"),
        ]
    )
    + "\n"
)


def rows_and_bad(paths, log_format):
    out = list(summarize_logs([str(p) for p in paths], log_format=log_format))
    return [r for r in out if isinstance(r, Row)], [b for b in out if isinstance(b, BadRow)]


@pytest.mark.parametrize("log_format", ["nginx", "apache"])
@pytest.mark.parametrize("compress", [False, True])
def test_combined_log_summarized_per_utc_day_agent_and_path(tmp_path, log_format, compress):
    path = tmp_path / ("access.log.1.gz" if compress else "access.log")
    path.write_bytes(gzip.compress(NGINX.encode()) if compress else NGINX.encode())
    rows, bad = rows_and_bad([path], log_format)
    assert [row.data for row in rows] == [
        {"date": "2026-05-20", "raw_user_agent": BROWSER, "raw_page_value": "/a", "hits": 1},
        {"date": "2026-05-20", "raw_user_agent": GPTBOT, "raw_page_value": "/a", "hits": 3},
        {"date": "2026-05-20", "raw_user_agent": GPTBOT, "raw_page_value": "/c", "hits": 1},
        {"date": "2026-05-20", "raw_user_agent": CLAUDE, "raw_page_value": "/b", "hits": 1},
        {"date": "2026-05-21", "raw_user_agent": GPTBOT, "raw_page_value": "/a", "hits": 1},
    ]
    assert rows[1].origin == f"{path}:1"  # the first line of the row
    assert [(b.origin, b.message) for b in bad] == [
        (f"{path}:8", "not a combined log line"),
        (f"{path}:11", "time '32/May/2026:10:00:00 +0000' is not dd/Mon/yyyy:HH:MM:SS +zzzz"),
    ]
    # A TLS handshake sent to port 80 is a line of the log, but no request: skipped.
    skipped = [r for r in summarize_logs([str(path)], log_format=log_format) if type(r) is Skipped]
    assert skipped == [Skipped(f"{path}:9", "no HTTP request (status 400): not a page fetch")]


def test_several_files_add_up(tmp_path):
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text(combined() + "\n")
    second.write_text(combined() + "\n" + combined() + "\n")
    rows, bad = rows_and_bad([first, second], "nginx")
    assert [row.data["hits"] for row in rows] == [3]
    assert not bad


@pytest.mark.parametrize(
    ("line", "agent"),
    [
        # nginx escapes " and bytes outside ASCII as \xHH; Apache escapes " as \"
        (combined(agent="Bot \\x22quoted\\x22 caf\\xC3\\xA9"), 'Bot "quoted" café'),
        (combined(agent='Bot \\"quoted\\" \\\\ back'), 'Bot "quoted" \\ back'),
    ],
)
def test_escaped_user_agents(line, agent):
    assert parse_combined(line)[1] == agent


def test_apache_vhost_combined_and_a_user_with_spaces():
    line = "www.example.com:443 " + combined().replace(" - - ", ' - "some user" ', 1)
    assert parse_combined(line) == ("2026-05-20", GPTBOT, "/a")


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/a", "/a"),
        ("/a?b=c", "/a"),
        ("/a#frag", "/a"),
        ("/%C3%A9t%C3%A9?x", "/%C3%A9t%C3%A9"),
        ("https://www.example.com/x/y?z", "/x/y"),
        ("http://www.example.com", "/"),
    ],
)
def test_page_path(target, path):
    assert page_path(target) == path


@pytest.mark.parametrize("target", ["*", "example.com:443", "/" + "a" * 2048])
def test_not_a_page_path(target):
    with pytest.raises(ValueError):
        page_path(target)


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("-", "400"),
        ("-", "408"),
        ("", "400"),
        ("\\x16\\x03\\x01\\x00\\xca\\x01", "400"),
        ("CONNECT www.example.org:443 HTTP/1.1", "400"),  # proxy probes
        ("OPTIONS * HTTP/1.1", "405"),
    ],
)
def test_lines_of_no_request_are_skipped_not_invalid(tmp_path, target, status):
    """nginx logs a connection closed before its request (`"-" 400`, `"-" 408`) and a TLS
    handshake on port 80: every public server's log has some every day, and none is a data
    error to fix (exit 1 every night); they are skipped and counted in the summary."""
    path = tmp_path / "access.log"
    path.write_text(combined() + "\n" + combined(request=target, status=status) + "\n")
    out = list(summarize_logs([str(path)], log_format="nginx"))
    assert [type(item) for item in out] == [Skipped, Row]
    assert out[0].origin == f"{path}:2"


def test_a_request_line_that_is_no_request_with_a_2xx_is_still_invalid(tmp_path):
    with pytest.raises(ValueError, match="is not 'METHOD target HTTP/x'"):
        parse_combined(combined(request="-", status="200"))


def test_a_line_without_user_agent_is_reported():
    with pytest.raises(ValueError, match="no user agent"):
        parse_combined(combined(agent=""))


def cloudflare(**fields):
    record = {
        "ClientRequestHost": "www.example.com",
        "ClientRequestMethod": "GET",
        "ClientRequestURI": "/a?utm=1",
        "ClientRequestUserAgent": GPTBOT,
        "EdgeResponseStatus": 200,
        "EdgeStartTimestamp": "2026-05-20T10:00:00Z",
        "RayID": "8c0f0c2f3d4e5f60",
    }
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


@pytest.mark.parametrize(
    ("stamp", "date"),
    [
        ("2026-05-20T23:59:59Z", "2026-05-20"),
        ("2026-05-20T23:30:00-02:00", "2026-05-21"),  # RFC 3339 with an offset
        (1779321600000000000, "2026-05-21"),  # unixnano, Logpush's default
        (1779321599, "2026-05-20"),  # unix seconds
        (1779321599999, "2026-05-20"),  # unix milliseconds
        ("1779321600000000000", "2026-05-21"),
    ],
)
def test_cloudflare_timestamps_in_utc(stamp, date):
    assert parse_cloudflare(cloudflare(EdgeStartTimestamp=stamp))[0] == date


def test_cloudflare_logpush_summarized_with_verified_bots(tmp_path):
    lines = [
        cloudflare(VerifiedBotCategory="AI Crawler"),
        cloudflare(ClientRequestURI="/a?other=2", VerifiedBotCategory="AI Crawler"),
        cloudflare(ClientRequestUserAgent=CLAUDE, ClientRequestPath="/b", ClientRequestURI="/b?x"),
        cloudflare(ClientRequestUserAgent="GPTBot/1.2 (spoofed)", VerifiedBotCategory=""),
        cloudflare(ClientRequestUserAgent="GPTBot/1.2 (spoofed)", VerifiedBotCategory="Search"),
        "not json",
        cloudflare(EdgeStartTimestamp=...),
        cloudflare(ClientRequestUserAgent=...),
        cloudflare(EdgeStartTimestamp="2026-05-20 10:00:00"),
        "[]",
    ]
    path = tmp_path / "20260520T100000Z_20260520T100500Z_ab12cd34.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    rows, bad = rows_and_bad([path], "cloudflare")
    assert [row.data for row in rows] == [
        {
            "date": "2026-05-20",
            "raw_user_agent": "GPTBot/1.2 (spoofed)",
            "raw_page_value": "/a",
            "hits": 2,
            "verified": False,
        },
        {
            "date": "2026-05-20",
            "raw_user_agent": GPTBOT,
            "raw_page_value": "/a",
            "hits": 2,
            "verified": True,
        },
        {"date": "2026-05-20", "raw_user_agent": CLAUDE, "raw_page_value": "/b", "hits": 1},
    ]
    assert [(b.origin.rsplit(":", 1)[1], b.message) for b in bad] == [
        ("6", "malformed JSON: Expecting value at column 1"),
        ("7", "no EdgeStartTimestamp"),
        ("8", "no ClientRequestUserAgent"),
        ("9", "EdgeStartTimestamp: timestamp '2026-05-20 10:00:00' has no time zone"),
        ("10", "not a JSON object"),
    ]


def test_an_unreadable_file_is_reported_and_the_others_are_read(tmp_path):
    broken = tmp_path / "broken.log.gz"
    broken.write_bytes(gzip.compress(b"x" * 1000)[:20])
    good = tmp_path / "good.log"
    good.write_text(combined() + "\n")
    rows, bad = rows_and_bad([tmp_path / "missing.log", broken, good], "nginx")
    assert len(rows) == 1
    assert [b.origin.rsplit("/", 1)[1] for b in bad] == ["missing.log:1", "broken.log.gz:1"]
    assert all(b.message.startswith("cannot read: ") for b in bad)


def test_batch_id_is_set_on_every_row(tmp_path):
    path = tmp_path / "a.log"
    path.write_text(combined() + "\n")
    (row,) = list(summarize_logs([str(path)], log_format="nginx", batch_id="logs-2026-05-20"))
    assert row.data["batch_id"] == "logs-2026-05-20"


def test_requests_without_a_user_agent_are_skipped_not_invalid(tmp_path):
    """Cloudflare logs "" for a request without User-Agent (health checks, scripts), nginx
    "" for an empty one: no agent to count, and every day has some: skipped, not exit 1."""
    nginx, logpush = tmp_path / "access.log", tmp_path / "logpush.log"
    nginx.write_text(combined(agent="") + "\n" + combined() + "\n")
    logpush.write_text(cloudflare(ClientRequestUserAgent="") + "\n" + cloudflare() + "\n")
    for path, log_format in ((nginx, "nginx"), (logpush, "cloudflare")):
        out = list(summarize_logs([str(path)], log_format=log_format))
        assert [type(item) for item in out] == [Skipped, Row]
        assert out[0] == Skipped(f"{path}:1", "no user agent: no agent's request")


def test_only_the_days_asked_for_are_summarized(tmp_path):
    """logrotate cuts at 06:25, not at midnight UTC: access.log.1 holds the end of one day and
    the start of the next. A pushed row replaces the stored one, so the next night's push of
    the same day's other part would replace these hits, not add to them. `dates` keeps the
    complete day of the files given; the others are skipped with one line per day."""
    older, newer = tmp_path / "access.log.2", tmp_path / "access.log.1"
    older.write_text(
        combined(when="19/May/2026:06:25:00 +0000") + "\n"
        + combined(when="20/May/2026:01:00:00 +0000") + "\n"
    )  # fmt: skip
    newer.write_text(
        combined(when="20/May/2026:06:25:01 +0000") + "\n"
        + combined(when="21/May/2026:06:00:00 +0000") + "\n"
        + combined(when="21/May/2026:06:10:00 +0000") + "\n"
    )  # fmt: skip
    out = list(summarize_logs([str(older), str(newer)], log_format="nginx", dates={"2026-05-20"}))
    rows = [item for item in out if type(item) is Row]
    assert [(row.data["date"], row.data["hits"]) for row in rows] == [("2026-05-20", 2)]
    skipped = [item for item in out if type(item) is Skipped]
    assert skipped == [
        Skipped(f"{older}:1", "1 request(s) of 2026-05-19, not a --date day: not sent"),
        Skipped(f"{newer}:2", "2 request(s) of 2026-05-21, not a --date day: not sent"),
    ]
