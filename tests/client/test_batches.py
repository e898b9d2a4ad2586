"""Batching on the encoded body, Retry-After, backoff, and progress on a terminal or not."""

import email.utils
import io
import json
import time

import httpx
import pytest
from referrals_push.progress import PlainProgress, TerminalProgress, progress_for
from referrals_push.push import (
    MAX_RETRY_AFTER,
    Pusher,
    PushResult,
    _with_origin,
    batches_of,
    encode_row,
    retry_after,
)
from referrals_push.records import REFERRALS, Row


def rows(count: int, page_length: int = 10) -> list[Row]:
    return [
        Row(
            {
                "date": "2026-05-20",
                "raw_referrer_value": "chatgpt.com",
                "raw_page_value": "/" + "é" * page_length + str(i),
            },
            f"f.csv:{i + 2}",
        )
        for i in range(count)
    ]


def test_batches_hold_at_most_max_rows():
    batches = list(batches_of(rows(25), max_rows=10, max_bytes=10**6, too_large=print))
    assert [len(b.lines) for b in batches] == [10, 10, 5]
    assert batches[2].origins == [f"f.csv:{i}" for i in range(22, 27)]


def test_batches_are_measured_on_the_encoded_ndjson_body():
    line = len(encode_row(rows(1, page_length=100)[0].data))
    assert line > 200  # é is two bytes in UTF-8: bytes, not characters, are counted
    max_bytes = 3 * line + 2  # three lines and their two newlines, exactly
    batches = list(
        batches_of(rows(7, page_length=100), max_rows=100, max_bytes=max_bytes, too_large=print)
    )
    assert [len(b.lines) for b in batches] == [3, 3, 1]
    assert all(len(b.body()) <= max_bytes for b in batches)
    assert len(batches[0].body()) == max_bytes
    assert json.loads(batches[0].body().split(b"\n")[1])["raw_page_value"].endswith("1")


def test_a_row_over_the_byte_limit_alone_is_set_aside():
    aside = []
    batches = list(
        batches_of(
            [*rows(2), *rows(1, page_length=5000), *rows(1)],
            max_rows=10,
            max_bytes=4096,
            too_large=aside.append,
        )
    )
    assert [len(b.lines) for b in batches] == [3]
    assert len(aside) == 1


def test_halves_keep_the_order():
    (batch,) = batches_of(rows(5), max_rows=10, max_bytes=10**6, too_large=print)
    first, second = batch.halves()
    assert first.origins + second.origins == batch.origins
    assert (len(first.lines), len(second.lines)) == (2, 3)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("0", 0.0), ("7", 7.0), ("1.5", 1.5), ("-3", 0.0), ("86400", MAX_RETRY_AFTER), ("", None)],
)
def test_retry_after_seconds(header, expected):
    response = httpx.Response(429, headers={"Retry-After": header} if header else {})
    assert retry_after(response) == expected


def test_retry_after_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after(httpx.Response(503, headers={"Retry-After": when})) <= 30
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None


def test_backoff_is_exponential_capped_and_jittered():
    pusher = Pusher(
        base_url="http://127.0.0.1:9/",
        brand=1,
        connection="c",
        token="t",
        kind=REFERRALS,
        dry_run=False,
        backoff_base=1.0,
        backoff_cap=10.0,
    )
    assert pusher.url == "http://127.0.0.1:9/v1/1/ai-referrals/connections/c/events"
    for attempt, (low, high) in {1: (0.5, 1), 2: (1, 2), 3: (2, 4), 4: (4, 8), 9: (5, 10)}.items():
        delays = {pusher.backoff(attempt) for _ in range(50)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1  # jitter: not every client retries at the same instant
    pusher.http.close()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "event 1: referrer 'google.com' is not an AI platform",
            ("referrer 'google.com' is not an AI platform", "b.csv:3"),
        ),
        ("event 9: out of range", ("event 9: out of range", "")),
        ("3 event(s) repeat the key", ("3 event(s) repeat the key", "")),
    ],
)
def test_the_servers_event_numbers_become_origins(message, expected):
    assert _with_origin(message, ["b.csv:2", "b.csv:3"]) == expected


def test_plain_progress_lines():
    stream = io.StringIO()
    progress = progress_for(stream, total=100)
    assert isinstance(progress, PlainProgress)
    result = PushResult(rows_read=60, accepted=50, rejected=10, batches=1)
    progress.start(result)
    progress.advance(60, result)
    progress.note("HTTP 429; retry 1/9 in 0.5 s")
    progress.finish(result)
    assert stream.getvalue().splitlines() == [
        "batch 1: 60 rows; 60 of ~100 read, 50 accepted, 10 rejected",
        "HTTP 429; retry 1/9 in 0.5 s",
    ]


def test_a_progress_bar_on_a_terminal():
    stream = io.StringIO()
    progress = progress_for(stream, total=100, terminal=True)
    assert isinstance(progress, TerminalProgress)
    result = PushResult(rows_read=60, accepted=50, rejected=10, batches=1)
    progress.start(result)
    progress.advance(60, result)
    progress.note("a note above the bar")
    progress.finish(result)
    output = stream.getvalue()
    assert "60%" in output
    assert "accepted=50" in output
    assert "a note above the bar" in output
