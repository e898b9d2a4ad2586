"""The msgspec fast path agrees with the authoritative validator on every input."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals.ingest import parse
from referrals.ingest import schema as events
from tests.factories import event

LATEST = events.latest_allowed_date()

text = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", "chatgpt.com", "/", "x" * 513, "y" * 2049, "a\x00b", "b" * 129]
)
dates = st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat) | st.sampled_from(
    ["2026-02-30", "2026-5-1", (LATEST + dt.timedelta(days=1)).isoformat(), LATEST.isoformat()]
)
numbers = (
    st.integers(min_value=-5, max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 12.0, 1.5, 2**63 - 1, 2**63, 1e12, 1e12 + 1, True, False])
)
values = st.none() | text | numbers | dates
field_values = {
    "date": dates | values,
    "raw_referrer_value": text | values,
    "raw_page_value": text | values,
    "pageviews": numbers | values,
    "sessions": numbers | values,
    "transactions": numbers | values,
    "purchase_revenue": numbers | values,
    "batch_id": text | values,
}
event_strategy = st.fixed_dictionaries({}, optional={**field_values, "extra": values}) | values


def careful(body: bytes) -> tuple[list | None, list | None]:
    try:
        rows, _ = parse._parse_careful(body, parse.FORMAT_JSON)
    except parse.PushError as exc:
        return None, exc.body["detail"]
    return rows, None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(event_strategy, min_size=1, max_size=5))
def test_fast_path_never_accepts_what_the_validator_refuses(batch):
    body = json.dumps(batch).encode()
    fast = parse._parse_fast(body, parse.FORMAT_JSON)
    rows, errors = careful(body)
    if fast is not None:
        assert errors is None
        assert fast == rows


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "date": st.dates(max_value=LATEST).map(dt.date.isoformat),
                "raw_referrer_value": st.text(min_size=1, max_size=50).filter(
                    lambda s: "\x00" not in s
                ),
                "raw_page_value": st.text(min_size=1, max_size=50).filter(
                    lambda s: "\x00" not in s
                ),
            },
            optional={
                "sessions": st.integers(0, 2**63 - 1) | st.none(),
                "purchase_revenue": st.floats(0, 1e12) | st.none(),
            },
        ),
        min_size=1,
        max_size=20,
    )
)
def test_valid_batches_take_the_fast_path(batch):
    body = json.dumps(batch).encode()
    fast = parse._parse_fast(body, parse.FORMAT_JSON)
    assert fast is not None
    assert fast == careful(body)[0]


@pytest.mark.parametrize(
    ("value", "expected"), [(0.1, "0.1"), (19.99995, "20.0000"), (1e12, "1000000000000"), (7, "7")]
)
def test_revenue_decimal(value, expected):
    assert events.revenue_decimal(value) == Decimal(expected)


def test_duplicate_keys_resolve_like_the_validator():
    body = (
        b'[{"date": "2026-01-01", "raw_referrer_value": "a", "raw_page_value": "/",'
        b' "sessions": 5, "sessions": 7}]'
    )
    fast = parse._parse_fast(body, parse.FORMAT_JSON)
    assert fast is not None and fast[0].sessions == 7
    assert careful(body)[0] == fast


def test_an_empty_batch_id_is_valid_on_both_paths():
    body = json.dumps([event(batch_id="")]).encode()
    fast = parse._parse_fast(body, parse.FORMAT_JSON)
    assert fast is not None and fast[0].batch_id == ""
    assert careful(body)[0] == fast
