"""The push endpoint: formats, limits, validation, normalization, the idempotent upsert."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection as connection_db
from django.test import override_settings
from django.utils import timezone

from referrals.ingest import parse
from referrals.ingest.schema import MSG_GE, MSG_MISSING, MSG_OBJECT
from referrals.models import (
    AIPlatform,
    AIPlatformEntry,
    Connection,
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from tests.factories import FIELD_CASES, event, post_raw, push

pytestmark = pytest.mark.django_db

TODAY = dt.datetime.now(dt.UTC).date()


def stored(connection):
    return {
        (r.date.isoformat(), r.raw_referrer_value, r.raw_page_value): r
        for r in ReferralRow.objects.filter(connection=connection).select_related("platform")
    }


# --- success ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_push_stores_ai_rows_and_rejects_others(api_client, connection, fmt):
    events = [
        event(),
        event(raw_referrer_value="google.com"),
        event(raw_referrer_value="https://www.perplexity.ai/search?q=x", raw_page_value="/"),
    ]
    response = push(api_client, connection, events, fmt=fmt)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "rejected": 1,
        "errors": ["event 1: referrer 'google.com' is not an AI platform"],
        "warnings": [],
    }
    rows = stored(connection)
    assert len(rows) == 2
    row = rows[("2026-05-20", "chatgpt.com", "/blog/launch-notes")]
    assert row.platform.slug == "chatgpt"
    assert (row.pageviews, row.sessions, row.transactions) == (10, 7, 1)
    assert row.purchase_revenue == Decimal("42.5000")
    assert row.batch_id == "b-1" and row.brand_id == connection.brand_id
    assert rows[("2026-05-20", "https://www.perplexity.ai/search?q=x", "/")].platform.slug == (
        "perplexity"
    )
    page = SitemapPage.objects.get(pk=row.page_id)
    assert (page.url, page.path, page.depth) == (
        "https://example.com/blog/launch-notes",
        "/blog/launch-notes",
        2,
    )
    assert DroppedReferrer.objects.get(connection=connection).count == 1
    log = PushLog.objects.get(connection=connection)
    assert (log.status_code, log.received, log.accepted, log.rejected, log.batch_id) == (
        200,
        3,
        2,
        1,
        "b-1",
    )
    connection.refresh_from_db()
    assert connection.last_pushed_at is not None and connection.last_push_error is None


def test_ndjson_ignores_blank_lines_and_crlf(api_client, connection):
    body = (
        json.dumps(event()) + "\r\n\r\n   \n" + json.dumps(event(raw_page_value="/x")) + "\r\n"
    ).encode()
    response = post_raw(api_client, connection, body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2


def test_charset_parameter_and_bom_are_accepted(api_client, connection):
    body = b"\xef\xbb\xbf" + json.dumps([event()]).encode()
    response = post_raw(
        api_client, connection, body, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_repush_replaces_every_metric_and_batch_id_with_nulls_too(api_client, connection):
    push(api_client, connection, [event()])
    again = event(
        pageviews=None, sessions=9, transactions=..., purchase_revenue=None, batch_id=None
    )
    assert push(api_client, connection, [again]).status_code == 200
    rows = stored(connection)
    assert len(rows) == 1
    row = next(iter(rows.values()))
    assert (row.pageviews, row.sessions, row.transactions, row.purchase_revenue) == (
        None,
        9,
        None,
        None,
    )
    assert row.batch_id is None


def test_same_batch_twice_is_idempotent(api_client, connection):
    events = [event(raw_page_value=f"/p/{i}", sessions=i) for i in range(50)]
    push(api_client, connection, events)
    first = {k: (r.sessions, r.updated_at) for k, r in stored(connection).items()}
    push(api_client, connection, list(reversed(events)), fmt="ndjson")
    second = {k: (r.sessions, r.updated_at) for k, r in stored(connection).items()}
    # Unchanged rows are not even rewritten (updated_at stays).
    assert first == second
    assert SitemapPage.objects.filter(brand=connection.brand).count() == 50


def test_in_batch_duplicates_keep_the_last_occurrence_and_warn(api_client, connection):
    events = [event(sessions=1), event(raw_page_value="/other"), event(sessions=3)]
    body = push(api_client, connection, events).json()
    assert body["accepted"] == 3
    assert len(body["warnings"]) == 1 and "last occurrence was kept" in body["warnings"][0]
    assert stored(connection)[("2026-05-20", "chatgpt.com", "/blog/launch-notes")].sessions == 3


def test_unknown_fields_are_named_once_each(api_client, connection):
    events = [event(foo=1), event(raw_page_value="/2", foo=2, bar=None)]
    body = push(api_client, connection, events).json()
    assert sorted(body["warnings"]) == [
        "unknown field 'bar' ignored (first seen in event 1)",
        "unknown field 'foo' ignored (first seen in event 0)",
    ]
    assert body["accepted"] == 2


def test_integral_floats_are_accepted_as_counts(api_client, connection):
    response = push(api_client, connection, [event(sessions=12.0, pageviews=3e1)])
    assert response.status_code == 200
    row = next(iter(stored(connection).values()))
    assert (row.sessions, row.pageviews) == (12, 30)


def test_revenue_is_stored_with_four_decimal_places(api_client, connection):
    events = [
        event(raw_page_value="/a", purchase_revenue=0.1),
        event(raw_page_value="/b", purchase_revenue=1e12),
        event(raw_page_value="/c", purchase_revenue=19.99995),
        event(raw_page_value="/d", purchase_revenue=7),
    ]
    assert push(api_client, connection, events).status_code == 200
    values = {k[2]: r.purchase_revenue for k, r in stored(connection).items()}
    assert values == {
        "/a": Decimal("0.1"),
        "/b": Decimal("1000000000000"),
        "/c": Decimal("20.0000"),
        "/d": Decimal("7"),
    }


def test_extreme_but_valid_values_are_stored(api_client, connection):
    big = 2**63 - 1
    events = [
        event(
            raw_referrer_value="https://chatgpt.com/" + "ü" * 490,
            raw_page_value="/" + "é" * 2047,
            pageviews=big,
            sessions=0,
            date=(TODAY + dt.timedelta(days=1)).isoformat(),
            batch_id="b" * 128,
        )
    ]
    response = push(api_client, connection, events)
    assert response.status_code == 200, response.content
    row = ReferralRow.objects.get(connection=connection)
    assert row.pageviews == big and len(row.raw_page_value) == 2048


def test_dry_run_answers_the_same_and_stores_nothing(api_client, connection):
    events = [event(), event(raw_referrer_value="(direct)"), event(foo=1)]
    dry = push(api_client, connection, events, query="?dry_run=true")
    assert dry.status_code == 200
    assert not ReferralRow.objects.exists()
    assert not SitemapPage.objects.exists()
    assert not PushLog.objects.exists()
    assert not DroppedReferrer.objects.exists()
    connection.refresh_from_db()
    assert connection.last_pushed_at is None
    real = push(api_client, connection, events)
    assert real.json() == dry.json()


def test_dry_run_with_bad_events_is_still_422(api_client, connection):
    response = push(api_client, connection, [event(sessions=-1)], query="?dry_run=1")
    assert response.status_code == 422
    assert not PushLog.objects.exists()


def test_invalid_dry_run_value_is_400(api_client, connection):
    assert push(api_client, connection, [event()], query="?dry_run=maybe").status_code == 400


def test_rejected_errors_are_capped_at_100_lines(api_client, connection):
    events = [event(raw_referrer_value=f"site{i}.example") for i in range(150)]
    body = push(api_client, connection, events).json()
    assert body["rejected"] == 150 and body["accepted"] == 0
    assert len(body["errors"]) == 101
    assert body["errors"][-1] == "... and 50 more"
    assert DroppedReferrer.objects.filter(connection=connection).count() == 150


def test_dropped_referrers_are_tallied_across_pushes(api_client, connection):
    push(api_client, connection, [event(raw_referrer_value="google.com")] * 2)
    push(api_client, connection, [event(raw_referrer_value="google.com")])
    assert DroppedReferrer.objects.get(connection=connection).count == 3


def test_inactive_platform_no_longer_matches(api_client, connection):
    AIPlatform.objects.filter(slug="claude").update(active=False)
    body = push(api_client, connection, [event(raw_referrer_value="claude.ai")]).json()
    assert body["rejected"] == 1


def test_request_id_is_logged_with_the_push(api_client, connection):
    push(api_client, connection, [event()], HTTP_X_REQUEST_ID="nightly-42")
    assert PushLog.objects.get().request_id == "nightly-42"


@pytest.mark.usefixtures("one_rate_limit_window")
def test_query_count_of_a_push_is_pinned(api_client, connection, django_assert_num_queries):
    events = [event(raw_page_value=f"/p/{i}") for i in range(200)]
    push(api_client, connection, events)  # pages exist now: the steady state of a nightly job
    # key, throttle (counter read + compare-and-set), brand, connection, allow-list
    # fingerprint, then in one transaction (a savepoint pair inside the test's transaction):
    # lock, page ids, the upsert (+ its temporary table on PostgreSQL), push log, connection
    # update. Nothing per row.
    expected = 14 if connection_db.vendor == "postgresql" else 13
    with django_assert_num_queries(expected):
        assert push(api_client, connection, events).status_code == 200


# --- refusals -----------------------------------------------------------------------------


def test_unknown_connection_and_other_brands_connection_are_404(
    api_client, connection, other_brand
):
    theirs = Connection.objects.create(
        brand=other_brand, website="globex.com", provider="adobe_analytics"
    )
    response = api_client.post(
        f"/v1/{connection.brand_id}/ai-referrals/connections/{theirs.pk}/events",
        "[]",
        content_type="application/json",
    )
    assert response.status_code == 404
    missing = api_client.post(
        f"/v1/{connection.brand_id}/ai-referrals/connections/01JX2Y6E8H1AKQ8V0W7G4D9SXT/events",
        "[]",
        content_type="application/json",
    )
    assert missing.status_code == 404


def test_disabled_connection_is_410_before_size_and_type_checks(api_client, connection):
    Connection.objects.filter(pk=connection.pk).update(status="disabled")
    assert push(api_client, connection, [event()]).status_code == 410
    response = post_raw(api_client, connection, b"x", content_type="text/plain")
    assert response.status_code == 410
    huge = post_raw(api_client, connection, b"[]", CONTENT_LENGTH="99999999")
    assert huge.status_code == 410
    assert "disabled" in huge.json()["detail"]


def test_query_scope_alone_cannot_push(client_with_scopes, connection):
    response = push(client_with_scopes("query"), connection, [event()])
    assert response.status_code == 403
    assert not ReferralRow.objects.exists()


def test_no_token_is_401_even_for_unknown_brand(client, connection):
    response = client.post(
        "/v1/999/ai-referrals/connections/x/events", "[]", content_type="application/json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", ""]
)
def test_other_content_types_are_415(api_client, connection, content_type):
    response = post_raw(api_client, connection, b"[]", content_type=content_type)
    assert response.status_code == 415
    assert "application/x-ndjson" in response.json()["detail"]


def _padded_body(size: int) -> bytes:
    body = json.dumps([event()]).encode()
    return body + b" " * (size - len(body))


def test_body_of_exactly_5_mib_is_accepted(api_client, connection):
    body = _padded_body(5 * 1024 * 1024)
    assert len(body) == 5_242_880
    assert post_raw(api_client, connection, body).status_code == 200


def test_body_one_byte_over_5_mib_is_413(api_client, connection):
    response = post_raw(api_client, connection, _padded_body(5_242_881))
    assert response.status_code == 413
    assert "5242880" in response.json()["detail"]
    assert not ReferralRow.objects.exists()
    connection.refresh_from_db()
    assert "too large" in connection.last_push_error
    assert PushLog.objects.get().status_code == 413


def test_declared_content_length_over_limit_is_413_without_reading(api_client, connection):
    response = post_raw(api_client, connection, b"[]", CONTENT_LENGTH=str(6 * 1024 * 1024))
    assert response.status_code == 413


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_10000_events_pass_and_10001_are_413(api_client, connection, fmt):
    events = [
        event(raw_page_value=f"/p/{i % 500}", date=f"2026-05-{1 + i // 500:02d}")
        for i in range(10_000)
    ]
    ok = push(api_client, connection, events, fmt=fmt)
    assert ok.status_code == 200
    assert ok.json()["accepted"] == 10_000
    too_many = push(api_client, connection, events + [event()], fmt=fmt)
    assert too_many.status_code == 413
    assert "10001" in too_many.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"", "application/json", "Empty body"),
        (b"  \n ", "application/json", "Empty body"),
        (b"", "application/x-ndjson", "Empty body"),
        (b"\n\n", "application/x-ndjson", "Empty body"),
        (b"[]", "application/json", "Empty array"),
        (b'{"date": "2026-05-20"}', "application/json", "not an object"),
        (b'"hello"', "application/json", "not a string"),
        (b"42", "application/json", "not a scalar"),
        (b'[{"date": "2026-05-20",]', "application/json", "line 1, column 24"),
        (b'[\n{"a": 1},\n{"a": 2\n]', "application/json", "line 4"),
        (b'[{"sessions": NaN}]', "application/json", "NaN"),
        (b'[{"sessions": Infinity}]', "application/json", "Infinity"),
        (b'[{"sessions": -Infinity}]', "application/json", "Infinity"),
        (b'["\xff\xfe"]', "application/json", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "nested"),
        (b'{"date": "2026-05-20"}\n{"date": \n{}', "application/x-ndjson", "line 2"),
        (b'{"a": 1}\n\n[1, 2\n', "application/x-ndjson", "line 3"),
        (b'{"a": 1}, {"b": 2}\n', "application/x-ndjson", "line 1"),
        (b'{"a": NaN}', "application/x-ndjson", "line 1"),
        (b'{"a": "\xc3"}', "application/x-ndjson", "line 1"),
    ],
)
def test_unparseable_bodies_are_400_saying_where(
    api_client, connection, body, content_type, fragment
):
    response = post_raw(api_client, connection, body, content_type=content_type)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert not ReferralRow.objects.exists()
    connection.refresh_from_db()
    assert connection.last_push_error


# --- 422: every field rule ----------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "field", "error_type"), FIELD_CASES)
@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_each_field_rule_gives_422_and_stores_nothing(
    api_client, connection, overrides, field, error_type, fmt
):
    events = [event(raw_page_value="/fine"), event(**overrides)]
    response = push(api_client, connection, events, fmt=fmt)
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == 1
    (error,) = body["detail"]
    assert error["loc"] == ["body", 1, field]
    assert error["type"] == error_type
    assert isinstance(error["msg"], str) and error["msg"]
    assert not ReferralRow.objects.exists()
    assert not SitemapPage.objects.exists()


def test_huge_exponent_numbers_are_422_not_400(api_client, connection):
    body = (
        b'[{"date": "2026-05-20", "raw_referrer_value": "claude.ai", "raw_page_value": "/",'
        b' "purchase_revenue": 1e400, "sessions": 1e400}]'
    )
    response = post_raw(api_client, connection, body)
    assert response.status_code == 422
    types = {e["loc"][2]: e["type"] for e in response.json()["detail"]}
    assert types == {"purchase_revenue": "finite_number", "sessions": "finite_number"}


def test_422_lists_every_error_up_to_100_with_the_total(api_client, connection):
    events = [event(sessions=-1, pageviews=-1) for _ in range(60)] + ["not an object"]
    response = push(api_client, connection, events)
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == 121
    assert len(body["detail"]) == 100
    assert body["detail"][0] == {
        "loc": ["body", 0, "pageviews"],
        "msg": MSG_GE,
        "type": "greater_than_equal",
    }
    last = push(api_client, connection, ["not an object", event(date=...)]).json()["detail"]
    assert last[0] == {"loc": ["body", 0], "msg": MSG_OBJECT, "type": "model_type"}
    assert last[1] == {"loc": ["body", 1, "date"], "msg": MSG_MISSING, "type": "missing"}


def test_422_marks_the_connection_and_logs_the_push(api_client, connection):
    push(api_client, connection, [event()])
    push(api_client, connection, [event(sessions=-5)])
    connection.refresh_from_db()
    assert "1 validation error" in connection.last_push_error
    assert "sessions" in connection.last_push_error
    assert PushLog.objects.filter(status_code=422).count() == 1
    assert len(stored(connection)) == 1  # the earlier push is untouched
    push(api_client, connection, [event()])
    connection.refresh_from_db()
    assert connection.last_push_error is None


# --- rate limits --------------------------------------------------------------------------


def test_push_rate_limit_is_429_with_retry_after(api_client, connection, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "push": "2/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        assert push(api_client, connection, [event()]).status_code == 200
        assert push(api_client, connection, [event()]).status_code == 200
        # The third is refused before its (oversized) body is even looked at.
        limited = post_raw(api_client, connection, b"[]", CONTENT_LENGTH="99999999")
        assert limited.status_code == 429
        assert 1 <= int(limited["Retry-After"]) <= 60
    assert PushLog.objects.count() == 2


def test_capped_helper():
    assert parse.capped(["a"] * 100, 100) == ["a"] * 100
    assert parse.capped(["a"] * 100, 130)[-1] == "... and 30 more"


def test_push_updates_last_pushed_at(api_client, connection):
    before = timezone.now()
    push(api_client, connection, [event()])
    connection.refresh_from_db()
    assert connection.last_pushed_at >= before


def test_allow_list_edits_apply_to_the_next_push(api_client, connection):
    assert (
        push(api_client, connection, [event(raw_referrer_value="ai.example")]).json()["rejected"]
        == 1
    )
    platform = AIPlatform.objects.create(slug="example_ai", name="Example AI")
    AIPlatformEntry.objects.create(platform=platform, kind="host", value="ai.example")
    body = push(api_client, connection, [event(raw_referrer_value="ai.example")]).json()
    assert body["accepted"] == 1
    assert ReferralRow.objects.get().platform_id == platform.pk


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_lone_surrogates_are_422_not_500(api_client, connection, fmt):
    body = (
        '{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/\\ud800"}'
    )
    if fmt == "json":
        body = f"[{body}]"
    content_type = "application/json" if fmt == "json" else "application/x-ndjson"
    response = post_raw(api_client, connection, body.encode(), content_type=content_type)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", 0, "raw_page_value"] and error["type"] == "string_unicode"


def test_surrogate_pairs_are_fine(api_client, connection):
    body = (
        b'[{"date": "2026-05-20", "raw_referrer_value": "chatgpt.com",'
        b' "raw_page_value": "/\\ud83d\\ude00"}]'
    )
    assert post_raw(api_client, connection, body).status_code == 200
    assert ReferralRow.objects.get().raw_page_value == "/\U0001f600"


def test_unknown_field_warnings_are_capped_and_short(api_client, connection):
    events = [event(raw_page_value=f"/p{i}", **{f"x{i}" + "y" * 500: 1}) for i in range(150)]
    warnings = push(api_client, connection, events).json()["warnings"]
    assert len(warnings) == 101
    assert warnings[-1] == "... and 50 more"
    assert all(len(w) < 200 for w in warnings)
