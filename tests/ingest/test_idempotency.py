"""Idempotency in every form: re-sent, re-encoded, reordered batches; planted bad rows; dry runs."""

import datetime as dt
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals.models import (
    Connection,
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from tests.factories import FIELD_CASES, event, post_raw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_push_rate_limit")]


AI = ["chatgpt.com", "https://www.perplexity.ai/search?q=x", "claude.ai", "perplexity", "poe.com"]
OTHER = ["google.com", "(direct)", "Typed/Bookmarked", "https://www.bing.com/search?q=x"]
HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def encode(events: list, fmt: str) -> tuple[bytes, str]:
    if fmt == "json":
        return json.dumps(events).encode(), "application/json"
    return "\n".join(json.dumps(e) for e in events).encode(), "application/x-ndjson"


def send(client, connection, events, fmt="json", query=""):
    body, content_type = encode(events, fmt)
    url = f"/v1/{connection.brand_id}/ai-referrals/connections/{connection.pk}/events{query}"
    return client.generic("POST", url, body, content_type=content_type)


def full_state(connection) -> tuple:
    """Every column of every stored row and page, ids and update times included."""
    rows = ReferralRow.objects.filter(connection=connection).order_by("id").values_list()
    pages = SitemapPage.objects.order_by("id").values_list()
    return list(rows), list(pages)


def realistic_batch(seed: int, size: int = 300) -> list[dict]:
    rng = random.Random(seed)
    events, keys = [], set()
    while len(events) < size:
        candidate = event(
            date=f"2026-05-{rng.randint(1, 28):02d}",
            raw_referrer_value=rng.choice(AI if rng.random() < 0.8 else OTHER),
            raw_page_value=f"/p/{rng.randrange(60)}",
            pageviews=rng.choice([None, rng.randrange(1000)]),
            sessions=rng.randrange(500),
            transactions=rng.choice([None, 0, 3]),
            purchase_revenue=rng.choice([None, round(rng.random() * 900, 2)]),
            batch_id=f"b-{seed}",
        )
        key = (candidate["date"], candidate["raw_referrer_value"], candidate["raw_page_value"])
        if key not in keys:
            keys.add(key)
            events.append(candidate)
    # Exact repeats inside the batch: the same final state in any order.
    return events + [dict(events[i]) for i in rng.sample(range(size), 10)]


def test_same_batch_five_times_as_json_ndjson_and_reordered_leaves_one_state(
    api_client, connection
):
    batch = realistic_batch(1)
    first = send(api_client, connection, batch)
    assert first.status_code == 200
    state = full_state(connection)
    assert 0 < len(state[0]) < len(batch)
    rng = random.Random(2)
    sends = [(batch, "json")] * 4 + [(batch, "ndjson")] * 5
    sends += [(rng.sample(batch, len(batch)), fmt) for fmt in ["json", "ndjson"] * 3][:5]
    for events, fmt in sends:
        response = send(api_client, connection, events, fmt)
        assert response.status_code == 200
        body = response.json()
        assert (body["accepted"], body["rejected"]) == (
            first.json()["accepted"],
            first.json()["rejected"],
        )
        if events is batch:
            assert body == first.json()
        assert full_state(connection) == state  # not even updated_at moved
    assert PushLog.objects.filter(status_code=200).count() == 1 + len(sends)


# --- 422: planted bad rows, found exactly, nothing stored ---------------------------------

text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    min_size=1,
    max_size=40,
)
good_events = st.fixed_dictionaries(
    {
        "date": st.dates(
            min_value=dt.date(2020, 1, 1),
            max_value=dt.date(2026, 5, 31),
        ).map(lambda d: d.isoformat()),
        "raw_referrer_value": st.one_of(st.sampled_from(AI + OTHER), text),
        "raw_page_value": text,
    },
    optional={
        "pageviews": st.one_of(st.none(), st.integers(0, 2**63 - 1)),
        "sessions": st.one_of(st.none(), st.integers(0, 10**6)),
        "transactions": st.one_of(st.none(), st.integers(0, 100)),
        "purchase_revenue": st.one_of(
            st.none(), st.floats(0, 1e12, allow_nan=False, allow_infinity=False)
        ),
        "batch_id": st.one_of(st.none(), text),
        "utm_campaign": text,  # unknown fields are a warning, never an error
    },
)
NOT_OBJECTS = [5, "event", None, [1, 2], True]
planted = st.one_of(
    st.tuples(st.sampled_from(FIELD_CASES), st.just(None)),
    st.tuples(st.just(None), st.sampled_from(NOT_OBJECTS)),
)


@settings(HYPOTHESIS, max_examples=500)
@given(
    good=st.lists(good_events, min_size=0, max_size=25),
    bad=st.lists(st.tuples(planted, st.integers(0, 10**6)), min_size=1, max_size=8),
    fmt=st.sampled_from(["json", "ndjson"]),
)
def test_planted_bad_rows_are_422_with_their_exact_loc_and_nothing_stored(
    api_client, connection, good, bad, fmt
):
    events = list(good)
    expected = {}
    for (case, not_object), position in bad:
        index = position % (len(events) + 1)
        if case is None:
            item, loc, type_ = not_object, ("body", index), "model_type"
        else:
            overrides, field, type_ = case
            item, loc = event(**overrides), ("body", index, field)
        events.insert(index, item)
        # Later insertions shift earlier planted rows that sit at or after `index`.
        expected = {
            (*loc_[:1], loc_[1] + (loc_[1] >= index), *loc_[2:]): t for loc_, t in expected.items()
        }
        expected[loc] = type_
    response = send(api_client, connection, events, fmt)
    assert response.status_code == 422, response.content[:500]
    body = response.json()
    assert body["error_count"] == len(expected)
    assert {tuple(e["loc"]): e["type"] for e in body["detail"]} == expected
    assert not ReferralRow.objects.exists()
    assert not SitemapPage.objects.exists()
    assert not DroppedReferrer.objects.exists()


# --- dry run: the same answer as the real run, nothing stored -----------------------------


def observable(connection) -> tuple:
    connection = Connection.objects.get(pk=connection.pk)
    return (
        full_state(connection),
        list(DroppedReferrer.objects.values_list()),
        PushLog.objects.count(),
        connection.last_pushed_at,
        connection.last_push_error,
    )


@settings(HYPOTHESIS, max_examples=100)
@given(
    good=st.lists(good_events, min_size=1, max_size=25),
    repeats=st.lists(st.integers(0, 10**6), max_size=3),
    bad=st.lists(st.tuples(planted, st.integers(0, 10**6)), max_size=2),
    fmt=st.sampled_from(["json", "ndjson"]),
)
def test_dry_run_answers_exactly_what_the_real_run_answers_and_stores_nothing(
    api_client, connection, good, repeats, bad, fmt
):
    events = list(good)
    for position in repeats:  # in-batch duplicates, so the warning is compared too
        events.append(dict(events[position % len(events)], sessions=position))
    for (case, not_object), position in bad:
        item = not_object if case is None else event(**case[0])
        events.insert(position % (len(events) + 1), item)
    before = observable(connection)
    dry = send(api_client, connection, events, fmt, query="?dry_run=true")
    assert observable(connection) == before
    real = send(api_client, connection, events, fmt)
    assert (dry.status_code, dry.json()) == (real.status_code, real.json())


def test_dry_run_of_an_unparseable_body_answers_like_the_real_run(api_client, connection):
    before = observable(connection)
    dry = post_raw(api_client, connection, b"[{", QUERY_STRING="dry_run=true")
    assert observable(connection) == before
    real = post_raw(api_client, connection, b"[{")
    assert (dry.status_code, dry.json()) == (real.status_code, real.json()) == (400, real.json())
